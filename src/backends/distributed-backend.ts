import { randomBytes } from 'node:crypto';
import { Queue, QueueEvents } from 'bullmq';
import type { Redis, RedisOptions } from 'ioredis';
import { RedisServer } from '../../actors/redis-server.js';
import { LocalCluster, type WorkerCluster } from '../../actors/worker-clusters.js';
import { moduleSpecifier } from '../../actors/worker-pool.js';
import { bullConnection, redisOf } from '../distributed/distributed-worker.js';
import { classKey, fits, keys, type JobOutcome, type Resources, type TaskData, type TaskOutcome } from '../distributed/protocol.js';
import { BackendError, ResourceError, TaskExecutionError } from '../errors.js';
import { rebuildError } from '../internal/remote-error.js';
import { stdoutOf } from '../run/outcome.js';
import type { ComputeTaskSpec, TaskHandle, TaskSpec } from '../run/task-handle.js';
import type { ModuleFunctionRef } from '../task-types.js';
import { Backend } from './backend.js';

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
}

/** Finished jobs stay a while so a missed event can be recovered from their stored state. */
const KEEP = { age: 600, count: 20_000 };

/** A task's place in a job. */
interface DistEntry { jobId: string; cancel: boolean; settled: Promise<void>; settle: () => void }

/** A job in flight: its class, its unsettled tasks by uid, and its recovery state. */
interface JobEntry { cls: string; need: Resources; tasks: Map<string, ComputeTask>; unreachableSince?: number; requeued?: boolean }

/** Most tasks one job carries; batches are cut so every worker still gets several jobs. */
const MAX_CHUNK = 64;

/** A worker that dies mid-job: the job runs again, up to 3 attempts in all. */
const jobOptions = (jobId: string) => ({ jobId, attempts: 3, backoff: { type: 'fixed' as const, delay: 200 }, removeOnComplete: KEEP, removeOnFail: KEEP });

/** How long a task's job may stay unconfirmable (Redis down) before the task fails. */
const UNREACHABLE_MS = 30_000;
const UNREACHABLE = Symbol('unreachable');

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
  private readonly queues = new Map<string, { queue: Queue; events: QueueEvents; need: Resources }>();
  private readonly jobs = new Map<string, JobEntry>();
  private readonly prefix: string;
  private reconciler: NodeJS.Timeout | null = null;
  private reconciling = false;
  private arriving: ComputeTask[] = [];

  constructor(options: DistributedExecutionBackendOptions = {}) {
    super(options.name ?? 'distributed');
    this.options = options;
    this.prefix = options.prefix ?? `rhapsody-${this.name}`.replace(/[^A-Za-z0-9_-]/g, '_');
  }

  static create(options: DistributedExecutionBackendOptions = {}): Promise<DistributedExecutionBackend> {
    return new DistributedExecutionBackend(options).start();
  }

  /** The Redis URL workers connect to (after start; a URL or the options given). */
  get redisConnection(): string | RedisOptions | null {
    return this.connection;
  }

  protected async onStart(): Promise<void> {
    if (this.options.connection) this.connection = this.options.connection;
    else {
      this.redisServer = await RedisServer.start();
      this.connection = this.redisServer.url;
    }
    this.redis = redisOf(this.connection);
    this.redis.on('error', () => undefined);
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
      await this.cluster.start(this.connection, this.prefix);
      await this.waitForWorkers(this.options.workerTimeout ?? 30_000, this.cluster.size ?? 1);
    }
  }

  private async waitForWorkers(timeout: number, count: number): Promise<void> {
    const until = Date.now() + timeout;
    let live = 0;
    while ((live = (await this.liveWorkers()).length) < count) {
      if (Date.now() > until) {
        if (live > 0) return; // some came up: run with them
        throw new BackendError(`no worker registered within ${timeout} ms`, this.name);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Registered workers with a fresh heartbeat, with the resources they offer. */
  async liveWorkers(): Promise<Array<{ id: string; resources: Resources; concurrency: number }>> {
    const k = keys(this.prefix);
    const all = await this.redis!.hgetall(k.workers);
    const ids = Object.keys(all);
    if (ids.length === 0) return [];
    const alive = await this.redis!.mget(ids.map((id) => k.heartbeat(id)));
    return ids.filter((_, i) => alive[i] !== null).map((id) => ({ id, ...(JSON.parse(all[id]!) as { resources: Resources; concurrency: number }) }));
  }

  protected async onShutdown(): Promise<void> {
    if (this.reconciler) clearInterval(this.reconciler);
    await Promise.all([...this.queues.values()].map(async ({ queue, events }) => {
      await events.close().catch(() => undefined);
      await queue.close().catch(() => undefined);
    }));
    await this.cluster?.close();
    this.redis?.disconnect();
    await this.redisServer?.close();
  }

  accepts(spec: TaskSpec): boolean {
    return spec.kind === 'compute';
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
      await events.waitUntilReady();
      await this.redis!.sadd(k.classes, JSON.stringify(need));
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
        for (let i = 0; i < jobs.length; i += 1000) await queue.addBulk(jobs.slice(i, i + 1000));
      } catch (err) {
        for (const task of group) {
          if (task.state === 'QUEUED') this.fail(task, new TaskExecutionError(`Task ${task.uid}: cannot queue it: ${(err as Error).message}`, { taskUid: task.uid }, { cause: new BackendError((err as Error).message, this.name) }));
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
      const error =
        e.name === 'TaskExecutionError'
          ? new TaskExecutionError(e.message, { taskUid: task.uid, exitCode: e.exitCode, stderr: e.stderr, signal: e.signal })
          : rebuildError(e);
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
    this.reconciling = true;
    let unreachable = false;
    try {
      for (const [jobId, entry] of [...this.jobs].slice(0, 2000)) {
        // jobs settle while this loop awaits Redis: look each one up again
        const q = this.queues.get(entry.cls);
        if (this.jobs.get(jobId) !== entry || !q) continue;
        // getJob answers undefined for a job Redis does not have; UNREACHABLE when Redis does not answer
        const job = await withTimeout(q.queue.getJob(jobId), 3000).catch((): typeof UNREACHABLE => UNREACHABLE);
        if (this.jobs.get(jobId) !== entry) continue;
        if (job === UNREACHABLE) {
          // Redis not answering: look again shortly, and give up on the tasks after a deadline
          unreachable = true;
          entry.unreachableSince ??= Date.now();
          if (Date.now() - entry.unreachableSince > UNREACHABLE_MS) this.finish(jobId, undefined, `Redis has not answered for ${UNREACHABLE_MS / 1000} s`);
          continue;
        }
        entry.unreachableSince = undefined;
        if (!job) {
          // Redis lost it (restarted without persistence): queue it again once, then give up
          if (entry.requeued) this.finish(jobId, undefined, 'its job was lost twice (Redis restarting without persistence?)');
          else {
            entry.requeued = true;
            const tasks = [...entry.tasks.values()];
            await q.queue
              .add(tasks[0]!.uid, { tasks: tasks.map(taskData), resources: entry.need }, jobOptions(jobId))
              .catch((err: Error) => this.finish(jobId, undefined, `cannot queue it again: ${err.message}`));
          }
          continue;
        }
        const state = await withTimeout(job.getState(), 3000).catch(() => 'unknown');
        if (state === 'completed') this.finish(jobId, job.returnvalue as JobOutcome);
        else if (state === 'failed') this.finish(jobId, undefined, job.failedReason);
      }
    } catch {
      // a reconcile pass never takes the host down; the next one runs in 5 s
    } finally {
      this.reconciling = false;
    }
    if (unreachable && this.reconciler) setTimeout(() => void this.reconcile(), 1000).unref();
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
    const stored = await q.queue.getJob(entry.jobId).catch(() => undefined);
    const state = stored ? await stored.getState().catch(() => 'unknown') : 'missing';
    const waiting = state === 'waiting' || state === 'delayed' || state === 'prioritized' || state === 'missing';
    // tell the workers in any case: one may take the job between our look and our change
    await this.redis!.publish(keys(this.prefix).cancel, task.uid);
    if (waiting) {
      // the job has not started: take the task out of it (the whole job when it was the last one)
      const rest = [...job.tasks.values()].filter((t) => t !== task);
      if (rest.length === 0) await stored?.remove().catch(() => undefined);
      else await stored?.updateData({ tasks: rest.map(taskData), resources: job.need }).catch(() => undefined);
      this.detach(task);
      task.canceled();
      entry.settle();
      return;
    }
    // running: the worker kills it (or skips it) and reports it canceled
    await entry.settled;
  }
}

function taskData(task: ComputeTask): TaskData {
  const { spec } = task;
  const o = spec.taskBackendSpecificKwargs;
  const fn = spec.function;
  return {
    uid: task.uid,
    executable: spec.executable,
    arguments: [...spec.arguments],
    fn: fn === undefined ? undefined : typeof fn === 'function' ? { source: fn.toString() } : { module: moduleSpecifier((fn as ModuleFunctionRef).module), export: (fn as ModuleFunctionRef).export },
    args: [...spec.args],
    kwargs: spec.kwargs,
    options: { shell: o.shell, cwd: o.cwd, env: o.env, timeout: o.timeout },
  };
}

/** Rejects when a Redis call does not answer in time (a connection still coming back). */
function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer in ${ms} ms`)), ms);
    p.then((v) => (clearTimeout(t), resolve(v)), (e: unknown) => (clearTimeout(t), reject(e)));
  });
}
