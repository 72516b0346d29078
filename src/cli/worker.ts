import { parseResources, type Resources } from '../distributed/protocol.js';
import { intOption, strOption, UsageError, type Command } from './command.js';
import { untilSignal } from './until-signal.js';

const EXECUTORS = ['threads', 'processes', 'inline'] as const;

export const workerCommand: Command = {
  name: 'worker',
  summary: 'run a worker for DistributedExecutionBackend (until SIGINT/SIGTERM)',
  options: {
    connection: { type: 'string', value: 'redis://HOST:PORT', description: "the backend's Redis (required)" },
    resources: { type: 'string', value: 'GPU=1,CPU=4', description: 'what this worker offers; it takes the jobs that fit', default: 'none' },
    concurrency: { type: 'string', value: 'N', description: 'tasks run at once', default: '4' },
    executor: { type: 'string', value: EXECUTORS.join('|'), description: 'how functions run', default: 'threads' },
    prefix: { type: 'string', value: 'P', description: "the backend's Redis namespace: its `prefix` option, rhapsody-<backend name> unless set", default: 'rhapsody' },
  },
  async run({ values }) {
    const connection = strOption(values, 'connection');
    if (!connection) throw new UsageError('--connection redis://host:port is required');
    const executor = strOption(values, 'executor');
    if (executor !== undefined && !(EXECUTORS as readonly string[]).includes(executor)) throw new UsageError(`--executor must be one of ${EXECUTORS.join(', ')} (got '${executor}')`);
    let resources: Resources;
    try {
      resources = parseResources(strOption(values, 'resources'));
    } catch (err) {
      throw new UsageError(`--resources: ${(err as Error).message}`);
    }
    const { startDistributedWorker } = await import('../distributed/distributed-worker.js');
    const worker = await startDistributedWorker({
      connection,
      prefix: strOption(values, 'prefix'),
      resources,
      concurrency: intOption(values, 'concurrency', 1),
      executor: executor as (typeof EXECUTORS)[number] | undefined,
    });
    if (process.stderr.isTTY) console.error(`rhapsody worker ${worker.id} on ${connection} (${strOption(values, 'resources') ?? 'no resources'})`);
    const { done, stop } = untilSignal(() => worker.close());
    // started by a LocalCluster: go when the backend's process goes, even if it could not stop us
    if (process.connected) {
      process.channel?.unref();
      process.once('disconnect', stop);
    }
    return done;
  },
};
