// Entry of a pool worker thread.
import { parentPort } from 'node:worker_threads';
import { expose } from 'comlink';
import { createRuntime } from './worker-runtime.mjs';
import { endpointOf } from './endpoint.mjs';

expose(createRuntime(), endpointOf(parentPort));
