// @ts-check
// Entry of a pool worker thread: batches in, arrays of results out (see worker-runtime.mjs).
import { parentPort } from 'node:worker_threads';
import { createRuntime } from './worker-runtime.mjs';

/** @import { Batch } from './worker-runtime.mjs' */

// started by the pool as a Worker, so there is a parent port
const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
const runtime = createRuntime((results) => port.postMessage(results), { share: true });
port.on('message', (/** @type {Batch} */ batch) => runtime.submit(batch));
