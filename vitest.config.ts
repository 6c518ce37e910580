import { fileURLToPath } from 'node:url';

import { defineConfig } from 'vitest/config';

// ONNX Runtime sessions already use both cores; running test files one at a time keeps
// them from fighting over the CPU and keeps memory predictable on a 2-core CI box.
export default defineConfig({
  // Examples import the package by name, as users do; in the repo that name is the source.
  resolve: { alias: { latentlab: fileURLToPath(new URL('./src/index.ts', import.meta.url)) } },
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
