import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/bin.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
  // startEnsemble finds dist/bin.js from import.meta.url, which the CJS build needs shimmed.
  shims: true,
});
