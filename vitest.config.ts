import { fileURLToPath } from 'node:url';

import { defineConfig } from 'vitest/config';

// ONNX Runtime sessions already use both cores; running test files one at a time keeps
// them from fighting over the CPU and keeps memory predictable on a 2-core CI box.
export default defineConfig({
  // Examples import the package by name, as users do; in the repo that name is the source.
  // `latentlab` under Node is the Node entry (package.json's export conditions); `latentlab/core` the neutral API.
  resolve: {
    alias: [
      { find: /^latentlab(\/node)?$/, replacement: fileURLToPath(new URL('./src/node.ts', import.meta.url)) },
      { find: /^latentlab\/web$/, replacement: fileURLToPath(new URL('./src/web.ts', import.meta.url)) },
      { find: /^latentlab\/core$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
