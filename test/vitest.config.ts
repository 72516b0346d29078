// Vitest configuration (kept under test/ so the top level stays as the design card fixes it).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const src = (p: string) => fileURLToPath(new URL(`../${p}`, import.meta.url));

export default defineConfig({
  // the package's own names, as tsconfig maps them (rhapsody/inference/llama imports 'rhapsody')
  resolve: {
    alias: [
      { find: /^rhapsody$/, replacement: src('src/index.ts') },
      { find: /^rhapsody\/machines$/, replacement: src('machines/index.ts') },
      { find: /^rhapsody\/inference\/llama$/, replacement: src('src/inference/llama.ts') },
      { find: /^rhapsody\/testing$/, replacement: src('src/testing.ts') },
      { find: /^rhapsody\/report$/, replacement: src('src/report.ts') },
    ],
  },
  test: {
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['test/**/*.test.ts'],
    // starts the SLURM cluster once for the run (test/engines/slurm-up.sh) and stops it after
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
  },
});
