// Entry of a pool worker thread: batches in, arrays of results out (see worker-runtime.mjs).
import { parentPort } from 'node:worker_threads';
import { createRuntime } from './worker-runtime.mjs';

const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
const runtime = createRuntime((results) => port.postMessage(results));
port.on('message', (batch) => runtime.submit(batch));
