import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Worker, type Job } from 'bullmq';
import type { RedisOptions } from 'ioredis';
import { compile, encodeError } from '../../actors/codec/wire-codec.mjs';
import { ConcurrentExecutionBackend, type Executor } from '../backends/execution/concurrent-backend.js';
import { ComputeTask } from '../compute-task.js';
import { Session } from '../session.js';
import type { FunctionWire } from '../../actors/codec/wire-codec.mjs';
import { classKey, fits, keys, type JobData, type JobOutcome, type Resources, type TaskData, type TaskOutcome } from './protocol.js';
import { bullConnection, redisOf } from './redis-connection.js';

export interface DistributedWorkerOptions {
  /** redis://… URL or ioredis options */
  connection: string | RedisOptions;
  /** namespace shared with the backend; default 'rhapsody' */
  prefix?: string;
  /** what this worker offers, e.g. { GPU: 1, CPU: 4 } */
  resources?: Resources;
  /** tasks at once (default 4) */
  concurrency?: number;
  /** how functions run in the worker (default 'threads') */
  executor?: Executor;
  id?: string;
}

export interface DistributedWorker {
  readonly id: string;
  close(): Promise<void>;
}

/**
 * A worker: takes jobs from every resource class it can satisfy and runs them with a local
 * session (so functions, async functions and executables behave exactly as on the local backend).
 * It registers itself (resources, heartbeat) so the backend can refuse what no worker can run,
 * and it never runs more than its resources allow at once.
 *
 * @example
 * // what `npx rhapsody worker` runs; the prefix must match the backend's (default rhapsody-<backend name>)
 * const worker = await startDistributedWorker({ connection: 'redis://127.0.0.1:6379', prefix: 'rhapsody-distributed', resources: { GPU: 1, CPU: 4 } });
 * process.once('SIGTERM', () => void worker.close());
 */
export async function startDistributedWorker(options: DistributedWorkerOptions): Promise<DistributedWorker> {
  const id = options.id ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const k = keys(options.prefix ?? 'rhapsody');
  const offer: Resources = options.resources ?? {};
  const concurrency = options.concurrency ?? 4;
  const redis = redisOf(options.connection);
  const subscriber = redisOf(options.connection);
  const backend = await ConcurrentExecutionBackend.create({ executor: options.executor ?? 'threads' });
  const session = new Session({ backends: [backend] });
  /** running tasks by uid, and uids canceled before they started (cancel messages carry uids) */
  const running = new Map<string, ComputeTask>();
  const canceled = new Set<string>();
  // one function object per source text (with its captured values): compiling is not free, and
  // the pool ships a function once
  const functions = new Map<string, (...args: unknown[]) => unknown>();
  const compiled = (d: { source: string; wire?: FunctionWire }) => {
    const key = d.wire ? JSON.stringify(d.wire) : d.source;
    let fn = functions.get(key);
    if (!fn) {
      if (functions.size > 10_000) functions.clear();
      functions.set(key, (fn = compile(d.wire ?? d.source)));
    }
    return fn;
  };
  const workers = new Map<string, Worker>();
  let closed = false;

  // resource accounting: a job waits for its share; `slots` bounds the total
  const free: Resources = { ...offer };
  let slots = concurrency;
  const waiting: Array<{ need: Resources; go: () => void }> = [];
  const canTake = (need: Resources) => slots > 0 && Object.entries(need).every(([r, n]) => (free[r] ?? 0) >= n);
  const acquire = (need: Resources) =>
    new Promise<void>((resolve) => {
      const go = () => {
        slots--;
        for (const [r, n] of Object.entries(need)) free[r] = (free[r] ?? 0) - n;
        resolve();
      };
      if (waiting.length === 0 && canTake(need)) go();
      else waiting.push({ need, go });
    });
  const release = (need: Resources) => {
    slots++;
    for (const [r, n] of Object.entries(need)) free[r] = (free[r] ?? 0) + n;
    while (waiting.length && canTake(waiting[0]!.need)) waiting.shift()!.go();
  };

  const register = () =>
    redis
      .multi()
      .hset(k.workers, id, JSON.stringify({ resources: offer, concurrency, host: hostname(), pid: process.pid }))
      .set(k.heartbeat(id), '1', 'PX', 5000)
      .exec()
      .catch(() => undefined);
  await register();
  const heartbeat = setInterval(() => void register(), 1000);

  /** Runs one task of a job under the worker's resources; its failure is an outcome, not a throw. */
  async function runTask(d: TaskData, need: Resources): Promise<TaskOutcome> {
    await acquire(need);
    let task: ComputeTask | undefined;
    try {
      if (canceled.delete(d.uid)) return { uid: d.uid, state: 'CANCELED' };
      const fn = d.fn ? ('source' in d.fn ? compiled(d.fn) : { module: d.fn.module, export: d.fn.export }) : undefined;
      task = new ComputeTask({
        uid: d.uid,
        executable: d.executable,
        arguments: d.arguments,
        function: fn as ComputeTask['function'],
        args: d.args,
        kwargs: d.kwargs,
        taskBackendSpecificKwargs: d.options ?? {},
      });
      running.set(d.uid, task);
      const [future] = await session.submitTasks([task]);
      await future!.catch(() => undefined); // the outcome is read from the task below
    } catch (err) {
      // the task could not even be built here (a module that does not load, …)
      return { uid: d.uid, state: 'FAILED', error: errorData(err) };
    } finally {
      running.delete(d.uid);
      release(need);
    }
    const outcome: TaskOutcome = { uid: d.uid, state: task.state as TaskOutcome['state'], returnValue: task.returnValue, stdout: task.stdout, stderr: task.stderr, exitCode: task.exitCode };
    if (task.state !== 'DONE') outcome.error = errorData(task.exception ?? new Error('failed'));
    return outcome;
  }

  // a job's tasks run side by side under the worker's resources; the job completes with every
  // outcome (retries are for workers that die, never for a task that failed)
  // a job that runs again after its worker died under it (BullMQ's stalled-job check put it back):
  // a task whose host retries it is reported lost, so the retry is a new attempt the host counts
  const run = async (job: Job<JobData>): Promise<JobOutcome> => ({
    outcomes: await Promise.all(job.data.tasks.map((d) => (job.stalledCounter > 0 && d.hostRetries ? lostOutcome(d) : runTask(d, job.data.resources)))),
  });

  const makeWorker = (need: Resources) => {
    const w = new Worker<JobData, JobOutcome>(k.queue(classKey(need)), run, {
      connection: bullConnection(options.connection),
      concurrency,
      lockDuration: 5000,
      stalledInterval: 2000,
      maxStalledCount: 2,
    });
    w.on('error', () => undefined);
    return w;
  };
  const watchClasses = async () => {
    if (closed) return;
    const classes = await redis.smembers(k.classes).catch(() => [] as string[]);
    for (const raw of classes) {
      if (workers.has(raw)) continue;
      const need = JSON.parse(raw) as Resources;
      if (!fits(need, offer)) continue;
      workers.set(raw, makeWorker(need));
    }
  };
  await watchClasses();
  const poll = setInterval(() => void watchClasses(), 300);

  // Redis came back (a restart loses the class registry and may leave blocked consumers behind):
  // re-register and renew every consumer
  let lost = false;
  redis.on('error', () => undefined);
  redis.on('close', () => (lost = true));
  redis.on('ready', () => {
    if (!lost || closed) return;
    lost = false;
    void register();
    for (const [raw, w] of [...workers]) {
      workers.set(raw, makeWorker(JSON.parse(raw) as Resources));
      void w.close(true).catch(() => undefined);
    }
  });

  subscriber.on('error', () => undefined);
  await subscriber.subscribe(k.cancel);
  subscriber.on('message', (_channel, uid: string) => {
    const task = running.get(uid);
    if (task) void task.cancel();
    else {
      // not started here (yet): remember it briefly, in case its job is one of ours
      canceled.add(uid);
      setTimeout(() => canceled.delete(uid), 600_000).unref();
    }
  });

  return {
    id,
    async close() {
      closed = true;
      clearInterval(poll);
      clearInterval(heartbeat);
      await Promise.all([...workers.values()].map((w) => w.close(true).catch(() => undefined)));
      await session.close();
      await redis.hdel(k.workers, id).catch(() => undefined);
      await redis.del(k.heartbeat(id)).catch(() => undefined);
      redis.disconnect();
      subscriber.disconnect();
    },
  };
}

/** A task whose worker was lost, for its host to retry. */
function lostOutcome(d: TaskData): TaskOutcome {
  return { uid: d.uid, state: 'FAILED', lost: true, error: errorData(new Error('its worker was lost while it ran (its job stalled)')) };
}

/** A task's error as data for its outcome (JSON: the job's return value), TaskExecutionError's details included. */
function errorData(thrown: unknown): NonNullable<TaskOutcome['error']> {
  const data: NonNullable<TaskOutcome['error']> = encodeError(thrown, { json: true });
  if (data.name === 'TaskExecutionError') {
    const e = thrown as { exitCode?: number | null; stderr?: string | null; signal?: string | null };
    Object.assign(data, { exitCode: e.exitCode, stderr: e.stderr, signal: e.signal });
  }
  return data;
}
