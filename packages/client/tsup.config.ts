import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', 'recipes/index': 'src/recipes/index.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
});
