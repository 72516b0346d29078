// Entry of a pool child process (executor: 'processes'). Exits when the parent goes away.
import { expose } from 'comlink';
import { createRuntime } from './worker-runtime.mjs';
import { processEndpoint } from './endpoint.mjs';

process.on('disconnect', () => process.exit(0));
expose(createRuntime(), processEndpoint(process));
