import { randomBytes } from 'node:crypto';
import { Queue, QueueEvents } from 'bullmq';
import type { Redis, RedisOptions } from 'ioredis';
import { RedisServer } from '../../../actors/distributed/redis-server.js';
import { LocalCluster, type WorkerCluster } from '../../../actors/distributed/worker-clusters.js';
import { moduleSpecifier } from '../../../actors/function-pool/worker-pool.js';
import { bullConnection, redisOf } from '../../distributed/distributed-worker.js';
import { classKey, fits, keys, type JobOutcome, type Resources, type TaskData, type TaskOutcome } from '../../distributed/protocol.js';
import { BackendError, ResourceError, TaskExecutionError } from '../../errors.js';
import { decodeError } from '../../../actors/codec/wire-codec.mjs';
import { checkShippable, shipFunction } from '../../internal/function-shipping.js';
import { stdoutOf } from '../../run/outcome.js';
import type { ComputeTaskSpec, TaskHandle, TaskSpec } from '../../run/task-handle.js';
import { withDeadline } from '../../internal/deadline.js';
import { RedisWatch, redisWhere } from '../../distributed/redis-watch.js';
import type { ModuleFunctionRef } from '../../task-types.js';
import { Backend } from '../backend.js';
import { refusePythonFunction } from '../python-function.js';
import { checkDistributedOptions } from '../options/schemas.js';

type ComputeTask = TaskHandle<ComputeTaskSpec>;

export interface DistributedExecutionBackendOptions {
  name?: string;
  /** an existing Redis (URL or ioredis options, password/TLS included) */
  connection?: string | RedisOptions;
  /** something that starts workers (LocalCluster, SlurmCluster, your own) */
  cluster?: WorkerCluster;
  /** the default local cluster: { nWorkers, workerResources: 'GPU=1', concurrency } */
  resources?: { nWorkers?: number; workerResources?: string; concurrency?: number };
  /** namespace in Redis (queues, registry); default `rhapsody-<name>` */
  prefix?: string;
  /** ms to wait for the first worker to register (default 30,000) */
  workerTimeout?: number;
  /**
   * ms Redis may stay unreachable (default 30,000): then tasks waiting on it fail with a
   * BackendError cause, new tasks fail at once, and no wait on Redis lasts longer
   */
  redisTimeoutMs?: number;
}

/** Finished jobs stay a while so a missed event can be recovered from their stored state. */
const KEEP = { age: 600, count: 20_000 };

/** A task's place in a job. */
interface DistEntry {
  jobId: string;
  cancel: boolean;
  settled: Promise<void>;
  settle: () => void;
}

/** A job in flight: its class, its unsettled tasks by uid, and its recovery state. */
interface JobEntry {
  cls: string;
  need: Resources;
  tasks: Map<string, ComputeTask>;
  unreachableSince?: number;
  requeued?: boolean;
}

/** Most tasks one job carries; batches are cut so every worker still gets several jobs. */
const MAX_CHUNK = 64;

/** A worker that dies mid-job: the job runs again, up to 3 attempts in all. */
const jobOptions = (jobId: string) => ({ jobId, attempts: 3, backoff: { type: 'fixed' as const, delay: 200 }, removeOnComplete: KEEP, removeOnFail: KEEP });

const UNREACHABLE = Symbol('unreachable');
/** A graceful close of BullMQ's clients gets this long before they are disconnected. */
const CLOSE_GRACE_MS = 3000;

/**
 * Scale-out on BullMQ over Redis (the Dask backend's role). Tasks become jobs (up to 64 tasks per
 * job for large batches) in one queue per resource class; workers (`rhapsody worker`, a LocalCluster
 * or a SlurmCluster) take the classes they can satisfy. With neither `connection` nor `cluster`, it starts a private redis-server and two
 * local workers, and stops them on shutdown.
 *
 * @example
 * const dist = await DistributedExecutionBackend.create({ resources: { nWorkers: 4 } });
 */
export class DistributedExecutionBackend extends Backend {
  readonly kind = 'execution' as const;
  private readonly options: DistributedExecutionBackendOptions;
  private redisServer: RedisServer | null = null;
  private cluster: WorkerCluster | null = null;
  private connection: string | RedisOptions | null = null;
  private redis: Redis | null = null;
  private watch: RedisWatch | null = null;
  private readonly queues = new Map<string, { queue: Queue; events: QueueEvents; need: Resources }>();
  private readonly jobs = new Map<string, JobEntry>();
  private readonly prefix: string;
  private reconciler: NodeJS.Timeout | null = null;
  private reconciling = false;
  private arriving: ComputeTask[] = [];
  private recheck: NodeJS.Timeout | null = null;

  constructor(options: DistributedExecutionBackendOptions = {}) {
    super(checkDistributedOptions(options).name ?? 'distributed');
    this.options = options;
    this.prefix = options.prefix ?? `rhapsody-${this.name}`.replace(/[^A-Za-z0-9_-]/g, '_');
  }

  static async create(options: DistributedExecutionBackendOptions = {}): Promise<DistributedExecutionBackend> {
    return new DistributedExecutionBackend(options).start();
  }

  /** The Redis URL workers connect to (after start; a URL or the options given). */
  get redisConnection(): string | RedisOptions | null {
    return this.connection;
  }

  protected async onStart(): Promise<void> {
    if (this.options.connection) this.connection = this.options.connection;
    else {
      this.reportProgress({ detail: 'starting redis-server' });
      this.redisServer = await RedisServer.start();
      this.connection = this.redisServer.url;
      this.reportProgress({ log: `redis-server ready on ${this.connection}` });
    }
    this.redis = redisOf(this.connection);
    this.redis.on('error', () => undefined);
    this.watch = new RedisWatch(this.redis, this.options.redisTimeoutMs ?? 30_000, this.name, redisWhere(this.connection));
    // Redis back after a restart: it lost the class registry (workers watch it) and maybe jobs, and
    // events may have been missed: register the classes again and reconcile with the stored jobs
    let lost = false;
    this.redis.on('close', () => (lost = true));
    this.redis.on('ready', () => {
      if (!lost) return;
      lost = false;
      void this.registerClasses().then(() => this.reconcile());
    });
    this.reconciler = setInterval(() => void this.reconcile(), 5_000);
    this.reconciler.unref();
    if (this.options.cluster) this.cluster = this.options.cluster;
    else if (!this.options.connection) {
      const r = this.options.resources ?? {};
      this.cluster = new LocalCluster(Array.from({ length: r.nWorkers ?? 2 }, () => ({ resources: r.workerResources, concurrency: r.concurrency })));
    }
    if (this.cluster) {
      if (typeof this.connection !== 'string') throw new BackendError('a cluster needs a Redis URL connection', this.name);
      this.reportProgress({ detail: `starting ${this.cluster.size ?? 'its'} workers (${this.cluster.constructor.name})` });
      await this.cluster.start(this.connection, this.prefix);
      await this.waitForWorkers(this.options.workerTimeout ?? 30_000, this.cluster.size ?? 1);
    }
    this.reportProgress({ detail: null });
  }

  /** Polls the registry until `count` workers are live; `state$` says how many and logs each one. */
  private async waitForWorkers(timeout: number, count: number): Promise<void> {
    const started = Date.now();
    const until = started + timeout;
    const seen = new Set<string>();
    let said = '';
    let live = 0;
    for (;;) {
      const workers = await this.liveWorkers();
      live = workers.length;
      for (const w of workers) if (!seen.has(w.id) && seen.add(w.id)) this.reportProgress({ log: `worker ${w.id} registered, offers ${JSON.stringify(w.resources)}` });
      const say = `waiting for workers: ${live} of ${count} registered (${Math.floor((Date.now() - started) / 5000) * 5} s of ${Math.round(timeout / 1000)} s)`; // a new line each 5 s
      if (live >= count) break;
      if (say !== said) this.reportProgress({ detail: (said = say) });
      if (Date.now() > until) {
        if (live > 0) {
          this.reportProgress({ log: `${live} of ${count} workers registered within ${timeout} ms: running with them` });
          return;
        }
        throw new BackendError(`no worker registered within ${timeout} ms`, this.name);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Registered workers with a fresh heartbeat, with the resources they offer. */
  async liveWorkers(): Promise<Array<{ id: string; resources: Resources; concurrency: number }>> {
    const k = keys(this.prefix);
    const all = await this.watch!.call(this.redis!.hgetall(k.workers), 'reading the worker registry');
    const ids = Object.keys(all);
    if (ids.length === 0) return [];
    const alive = await this.watch!.call(this.redis!.mget(ids.map((id) => k.heartbeat(id))), 'reading the worker registry');
    return ids.filter((_, i) => alive[i] !== null).map((id) => ({ id, ...(JSON.parse(all[id]!) as { resources: Resources; concurrency: number }) }));
  }

  protected async onShutdown(): Promise<void> {
    if (this.reconciler) clearInterval(this.reconciler);
    if (this.recheck) clearTimeout(this.recheck);
    this.reconciler = this.recheck = null;
    this.watch?.close();
    // BullMQ's close() waits for Redis: give it a grace while Redis answers, then force-disconnect
    const grace = this.watch?.up ? Math.min(CLOSE_GRACE_MS, this.watch.timeoutMs) : 0;
    await Promise.all([...this.queues.values()].flatMap(({ queue, events }) => [closeWithin(events, grace), closeWithin(queue, grace)]));
    await this.cluster?.close();
    this.redis?.disconnect();
    await this.redisServer?.close();
  }

  accepts(spec: TaskSpec): boolean {
    return spec.kind === 'compute';
  }

  /** A function must ship as JSON (BullMQ job data): captured values JSON would change are refused. */
  override validate(spec: TaskSpec): void {
    const fn = spec.kind === 'compute' ? spec.function : undefined;
    refusePythonFunction(spec, this.name);
    if (typeof fn === 'function') checkShippable(spec.uid, fn, 'distributed worker (as JSON)', 'json');
  }

  private async queueFor(need: Resources): Promise<{ queue: Queue; events: QueueEvents; cls: string }> {
    const cls = classKey(need);
    let q = this.queues.get(cls);
    if (!q) {
      const k = keys(this.prefix);
      const name = k.queue(cls);
      const connection = bullConnection(this.connection!);
      const events = new QueueEvents(name, { connection });
      events.on('error', () => undefined);
      const queue = new Queue(name, { connection });
      queue.on('error', () => undefined);
      q = { queue, events, need };
      this.queues.set(cls, q);
      events.on('active', ({ jobId }) => {
        for (const task of this.jobs.get(jobId)?.tasks.values() ?? []) if (task.state === 'QUEUED') task.start();
      });
      events.on('completed', ({ jobId, returnvalue }) => this.finish(jobId, returnvalue as unknown as JobOutcome));
      events.on('failed', ({ jobId, failedReason }) => this.finish(jobId, undefined, failedReason));
      await this.watch!.call(events.waitUntilReady(), 'opening the queue');
      await this.watch!.call(this.redis!.sadd(k.classes, JSON.stringify(need)), 'registering the resource class');
    }
    return { ...q, cls };
  }

  private async registerClasses(): Promise<void> {
    const needs = [...this.queues.values()].map((q) => JSON.stringify(q.need));
    if (needs.length) await this.redis!.sadd(keys(this.prefix).classes, ...needs).catch(() => undefined);
  }

  /** Runs arrive one by one from the run loop; they are queued to Redis together (one addBulk a tick). */
  protected run(task: ComputeTask): void {
    task.onAbort(() => void this.cancelRun(task));
    this.arriving.push(task);
    if (this.arriving.length === 1) {
      queueMicrotask(() => {
        const batch = this.arriving;
        this.arriving = [];
        void this.enqueue(batch);
      });
    }
  }

  private async enqueue(tasks: ComputeTask[]): Promise<void> {
    try {
      await this.watch!.ready('cannot queue the task');
    } catch (err) {
      for (const task of tasks) this.fail(task, new TaskExecutionError(`Task ${task.uid}: ${(err as Error).message}`, { taskUid: task.uid }, { cause: err }));
      return;
    }
    let workers = await this.liveWorkers().catch(() => []);
    // an empty registry may be a Redis that just restarted: workers re-register within a second
    for (let i = 0; i < 12 && workers.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 250));
      workers = await this.liveWorkers().catch(() => []);
    }
    // one addBulk per resource class: a round trip per batch, not per task
    const byClass = new Map<string, { need: Resources; tasks: ComputeTask[] }>();
    for (const task of tasks) {
      if (task.state !== 'QUEUED') continue; // canceled meanwhile
      const need = (task.spec.taskBackendSpecificKwargs.resources ?? {}) as Resources;
      if (!workers.some((w) => fits(need, w.resources))) {
        const offers = workers.map((w) => JSON.stringify(w.resources)).join(' ') || 'none';
        task.fail(new ResourceError(`Task ${task.uid}: no registered worker can ever satisfy ${JSON.stringify(need)} (workers offer: ${offers})`, task.uid));
        continue;
      }
      const cls = classKey(need);
      (byClass.get(cls) ?? byClass.set(cls, { need, tasks: [] }).get(cls)!).tasks.push(task);
    }
    for (const { need, tasks: group } of byClass.values()) {
      try {
        const { queue, cls } = await this.queueFor(need);
        const live = group.filter((t) => t.state === 'QUEUED'); // some may be canceled meanwhile
        const takers = Math.max(1, workers.filter((w) => fits(need, w.resources)).length);
        const size = Math.min(MAX_CHUNK, Math.max(1, Math.floor(live.length / (4 * takers))));
        const jobs = [];
        for (let i = 0; i < live.length; i += size) {
          const chunk = live.slice(i, i + size);
          const jobId = `${chunk[0]!.uid}-${randomBytes(4).toString('hex')}`;
          const entry: JobEntry = { cls, need, tasks: new Map() };
          for (const task of chunk) {
            let settle!: () => void;
            const settled = new Promise<void>((r) => (settle = r));
            task.slot = { jobId, cancel: false, settled, settle } satisfies DistEntry;
            entry.tasks.set(task.uid, task);
          }
          this.jobs.set(jobId, entry);
          jobs.push({ name: chunk[0]!.uid, data: { tasks: chunk.map(taskData), resources: need }, opts: jobOptions(jobId) });
        }
        for (let i = 0; i < jobs.length; i += 1000) await this.watch!.call(queue.addBulk(jobs.slice(i, i + 1000)), 'adding jobs');
      } catch (err) {
        const cause = err instanceof BackendError ? err : new BackendError((err as Error).message, this.name);
        for (const task of group) {
          if (task.state === 'QUEUED') this.fail(task, new TaskExecutionError(`Task ${task.uid}: cannot queue it: ${(err as Error).message}`, { taskUid: task.uid }, { cause }));
        }
      }
    }
  }

  /** Forgets a task's place in its job (the job is forgotten with its last task). */
  private detach(task: ComputeTask): DistEntry | undefined {
    const entry = task.slot as DistEntry | undefined;
    if (!entry) return undefined;
    const job = this.jobs.get(entry.jobId);
    if (job?.tasks.delete(task.uid) && job.tasks.size === 0) this.jobs.delete(entry.jobId);
    return entry;
  }

  private fail(task: ComputeTask, error: Error): void {
    const entry = this.detach(task);
    task.fail(error);
    entry?.settle();
  }

  /** A job ended: each task settles from its outcome; a job that failed fails what it still held. */
  private finish(jobId: string, result?: JobOutcome, failedReason?: string): void {
    const job = this.jobs.get(jobId);
    if (!job) return;
    const outcomes = new Map((result?.outcomes ?? []).map((o) => [o.uid, o]));
    for (const task of [...job.tasks.values()]) {
      const o = outcomes.get(task.uid);
      if (!o) {
        // not the task's own failure: the job could not be run (worker died too often, …)
        const why = failedReason ?? 'its job ended without its outcome';
        this.fail(task, new TaskExecutionError(`Task ${task.uid}: ${why}`, { taskUid: task.uid }, { cause: new BackendError(why, this.name) }));
        continue;
      }
      this.settle(task, o);
    }
  }

  private settle(task: ComputeTask, o: TaskOutcome): void {
    const entry = this.detach(task)!;
    if (task.state === 'QUEUED') task.start();
    if (o.state === 'DONE') {
      task.complete({ returnValue: o.returnValue, exitCode: o.exitCode ?? null, stdout: o.stdout ?? (task.spec.function ? stdoutOf(o.returnValue) : null), stderr: o.stderr ?? null });
    } else if (o.state === 'CANCELED' || entry.cancel) {
      task.canceled();
    } else {
      const e = o.error!;
      const error = e.name === 'TaskExecutionError' ? new TaskExecutionError(e.message, { taskUid: task.uid, exitCode: e.exitCode, stderr: e.stderr, signal: e.signal }) : decodeError(e);
      task.fail(error, { exitCode: o.exitCode ?? null, stdout: o.stdout ?? null, stderr: o.stderr ?? null });
    }
    entry.settle();
  }

  /**
   * Settles tasks from their jobs' stored state: completed or failed jobs whose events were missed
   * finish now; jobs Redis no longer has (it restarted without persistence) fail with a BackendError.
   */
  private async reconcile(): Promise<void> {
    if (this.reconciling || this.jobs.size === 0) return;
    if (!this.watch!.up) {
      // Redis away: nothing to look up; past the timeout every task waiting on it fails
      if (this.watch!.gaveUp) {
        const why = this.watch!.error('its job cannot be confirmed').message;
        for (const jobId of [...this.jobs.keys()]) this.finish(jobId, undefined, why);
      } else this.reconcileSoon();
      return;
    }
    this.reconciling = true;
    let unreachable = false;
    try {
      for (const [jobId, entry] of [...this.jobs].slice(0, 2000)) {
        // jobs settle while this loop awaits Redis: look each one up again
        const q = this.queues.get(entry.cls);
        if (this.jobs.get(jobId) !== entry || !q) continue;
        // getJob answers undefined for a job Redis does not have; UNREACHABLE when Redis does not answer
        const job = await withDeadline(q.queue.getJob(jobId), 3000, () => new Error('no answer')).catch((): typeof UNREACHABLE => UNREACHABLE);
        if (this.jobs.get(jobId) !== entry) continue;
        if (job === UNREACHABLE) {
          // Redis not answering: look again shortly, and give up on the tasks after a deadline
          unreachable = true;
          entry.unreachableSince ??= Date.now();
          if (Date.now() - entry.unreachableSince > this.watch!.timeoutMs) this.finish(jobId, undefined, this.watch!.error('its job cannot be confirmed').message);
          if (!this.watch!.up) break; // the rest would wait 3 s each: the next pass handles them
          continue;
        }
        entry.unreachableSince = undefined;
        if (!job) {
          // Redis lost it (restarted without persistence): queue it again once, then give up
          if (entry.requeued) this.finish(jobId, undefined, 'its job was lost twice (Redis restarting without persistence?)');
          else {
            entry.requeued = true;
            const tasks = [...entry.tasks.values()];
            await this.watch!.call(q.queue.add(tasks[0]!.uid, { tasks: tasks.map(taskData), resources: entry.need }, jobOptions(jobId)), 'queueing a lost job again').catch((err: Error) =>
              this.finish(jobId, undefined, `cannot queue it again: ${err.message}`),
            );
          }
          continue;
        }
        const state = await withDeadline(job.getState(), 3000, () => new Error('no answer')).catch(() => 'unknown');
        if (state === 'completed') this.finish(jobId, job.returnvalue as JobOutcome);
        else if (state === 'failed') this.finish(jobId, undefined, job.failedReason);
      }
    } catch {
      // a reconcile pass never takes the host down; the next one runs in 5 s
    } finally {
      this.reconciling = false;
    }
    if (unreachable) this.reconcileSoon();
  }

  /** One more pass in a second (Redis away or slow), unless one is already due. */
  private reconcileSoon(): void {
    if (this.recheck || !this.reconciler) return;
    this.recheck = setTimeout(() => {
      this.recheck = null;
      void this.reconcile();
    }, 1000);
    this.recheck.unref();
  }

  /** Cancel: out of a waiting job, or killed/skipped on the worker (its outcome then says CANCELED). */
  private async cancelRun(task: ComputeTask): Promise<void> {
    const entry = task.slot as DistEntry | undefined;
    const job = entry && this.jobs.get(entry.jobId);
    if (!entry || !job) {
      task.canceled();
      return;
    }
    entry.cancel = true;
    const q = this.queues.get(job.cls)!;
    const w = this.watch!;
    // Redis away: no worker can be told; the task ends here (a worker may still run it)
    const local = () => {
      this.detach(task);
      task.canceled();
      entry.settle();
    };
    if (!w.up) return local();
    const stored = await w.call(q.queue.getJob(entry.jobId), 'cancel').catch(() => undefined);
    const state = stored ? await w.call(stored.getState(), 'cancel').catch(() => 'unknown') : 'missing';
    const waiting = state === 'waiting' || state === 'delayed' || state === 'prioritized' || state === 'missing';
    // tell the workers in any case: one may take the job between our look and our change
    const told = await w.call(this.redis!.publish(keys(this.prefix).cancel, task.uid), 'cancel').then(
      () => true,
      () => false,
    );
    if (!told) return local();
    if (waiting) {
      // the job has not started: take the task out of it (the whole job when it was the last one)
      const rest = [...job.tasks.values()].filter((t) => t !== task);
      if (rest.length === 0) await w.call(stored?.remove() ?? Promise.resolve(), 'cancel').catch(() => undefined);
      else await w.call(stored?.updateData({ tasks: rest.map(taskData), resources: job.need }) ?? Promise.resolve(), 'cancel').catch(() => undefined);
      this.detach(task);
      task.canceled();
      entry.settle();
      return;
    }
    // running: the worker kills it (or skips it) and reports it canceled
    await entry.settled;
  }
}

function functionData(fn: (...args: never[]) => unknown): NonNullable<TaskData['fn']> {
  const shipped = shipFunction(fn);
  return shipped.wire ? { source: shipped.source, wire: shipped.wire } : { source: shipped.source };
}

function taskData(task: ComputeTask): TaskData {
  const { spec } = task;
  const o = spec.taskBackendSpecificKwargs;
  const fn = spec.function;
  return {
    uid: task.uid,
    executable: spec.executable,
    arguments: [...spec.arguments],
    fn: fn === undefined ? undefined : typeof fn === 'function' ? functionData(fn) : { module: moduleSpecifier((fn as ModuleFunctionRef).module), export: (fn as ModuleFunctionRef).export },
    args: [...spec.args],
    kwargs: spec.kwargs,
    options: { shell: o.shell, cwd: o.cwd, env: o.env, timeout: o.timeout },
  };
}

/** Closes a BullMQ client gracefully within `ms`, else force-disconnects it (Redis gone). */
async function closeWithin(client: Queue | QueueEvents, ms: number): Promise<void> {
  const closing = client.close().catch(() => undefined);
  const closed =
    ms > 0 &&
    (await withDeadline(
      closing.then(() => true),
      ms,
      () => new Error('close'),
    ).catch(() => false));
  if (!closed) await withDeadline(client.disconnect(), 1000, () => new Error('disconnect')).catch(() => undefined);
}
