// The child process of the SIGKILL crash test (crash-workload.ts): node crash-child.js <dir> <seed>.
import { runCrashChild } from './crash-workload.js';

const [dir, seed] = process.argv.slice(2);
if (dir === undefined || seed === undefined) throw new Error('usage: crash-child <dir> <seed>');
await runCrashChild(dir, Number(seed));
