// @ts-check
// Entry of a pool child process (executor: 'processes'). Exits when the parent goes away.
import { createRuntime } from './worker-runtime.mjs';

/** @import { Batch } from './worker-runtime.mjs' */

process.on('disconnect', () => process.exit(0));
const runtime = createRuntime((results) => {
  if (process.connected) process.send?.(results);
});
process.on('message', (batch) => runtime.submit(/** @type {Batch} */ (batch)));
