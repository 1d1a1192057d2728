import { simulationFor } from './src/run-seeds.js';

const seed = Number(process.argv[2]);
const sim = simulationFor(seed, 3, 0, { membership: true, traceSize: 3000 });
const s: any = sim;
try {
  await sim.run();
} catch (e: any) {
  console.log(e.message);
  const pat = new RegExp(process.argv[3]);
  for (const l of s.trace) if (pat.test(l) && !/client/.test(l)) console.log(l);
}
