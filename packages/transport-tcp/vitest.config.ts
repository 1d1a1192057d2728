import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // Loopback tests move thousands of messages; on a loaded 2-core CI machine that can take
    // seconds. Every wait inside them is still bounded (testing.ts waitFor).
    testTimeout: 30_000,
  },
});
