export { fsyncDirectory, writeFileAtomic } from './atomic-file.js';
