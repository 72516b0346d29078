import type { RedisOptions } from 'ioredis';
import { LocalCluster, type WorkerCluster } from '../../../actors/distributed/worker-clusters.js';
import { JobQueue } from '../../distributed/job-queue.js';
import { classKey, fits, type Resources } from '../../distributed/protocol.js';
import { Reconciler } from '../../distributed/reconciler.js';
import { RedisConnection } from '../../distributed/redis-connection.js';
import { type WorkerInfo, WorkerRegistry } from '../../distributed/worker-registry.js';
import { BackendError, ResourceError } from '../../errors.js';
import { checkShippable } from '../../internal/function-shipping.js';
import type { ComputeTaskSpec, TaskHandle, TaskSpec } from '../../run/task-handle.js';
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

/** The parts a started backend is made of (src/distributed/). */
interface Parts {
  redis: RedisConnection;
  registry: WorkerRegistry;
  queue: JobQueue;
  reconciler: Reconciler;
}

/**
 * Scale-out on BullMQ over Redis (the Dask backend's role). Tasks become jobs (up to 64 tasks per
 * job for large batches) in one queue per resource class; workers (`rhapsody worker`, a LocalCluster
 * or a SlurmCluster) take the classes they can satisfy. With neither `connection` nor `cluster`, it starts a private redis-server and two
 * local workers, and stops them on shutdown.
 *
 * It composes four parts: the Redis connection (src/distributed/redis-connection.ts), the worker
 * registry, the job queue and the reconciler that turns jobs into task outcomes.
 *
 * @example
 * const dist = await DistributedExecutionBackend.create({ resources: { nWorkers: 4 } });
 */
export class DistributedExecutionBackend extends Backend {
  readonly kind = 'execution' as const;
  private readonly options: DistributedExecutionBackendOptions;
  private readonly prefix: string;
  private redis: RedisConnection | null = null;
  private parts: Parts | null = null;
  private arriving: ComputeTask[] = [];

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
    return this.redis?.connection ?? null;
  }

  protected async onStart(): Promise<void> {
    const progress = (update: { detail?: string | null; log?: string | string[] }) => this.reportProgress(update);
    const redis = (this.redis = await RedisConnection.open(this.name, this.options, progress));
    const queue = new JobQueue(redis, this.prefix);
    const reconciler = new Reconciler(this.name, redis, queue);
    const registry = new WorkerRegistry(redis, this.prefix, this.name, progress);
    this.parts = { redis, registry, queue, reconciler };
    // Redis back after a restart: it lost the class registry (workers watch it) and maybe jobs, and
    // events may have been missed: register the classes again and reconcile with the stored jobs
    redis.onReturn(() => void queue.registerClasses().then(() => reconciler.reconcile()));
    reconciler.start();
    const cluster = this.clusterToStart();
    if (cluster) await registry.startCluster(cluster, this.options.workerTimeout ?? 30_000);
    this.reportProgress({ detail: null });
  }

  /** The given cluster; the default local one when given neither a cluster nor a connection. */
  private clusterToStart(): WorkerCluster | null {
    if (this.options.cluster) return this.options.cluster;
    if (this.options.connection) return null;
    const r = this.options.resources ?? {};
    return new LocalCluster(Array.from({ length: r.nWorkers ?? 2 }, () => ({ resources: r.workerResources, concurrency: r.concurrency })));
  }

  /** Registered workers with a fresh heartbeat, with the resources they offer. */
  async liveWorkers(): Promise<WorkerInfo[]> {
    if (!this.parts) throw new BackendError(`Backend ${this.name} is not started`, this.name);
    return this.parts.registry.live();
  }

  protected async onShutdown(): Promise<void> {
    const parts = this.parts;
    parts?.reconciler.stop();
    const grace = this.redis?.stopWaiting() ?? 0;
    await parts?.queue.close(grace);
    await parts?.registry.close();
    await this.redis?.close();
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

  /** Runs arrive one by one from the run loop; they are queued to Redis together (one addBulk a tick). */
  protected run(task: ComputeTask): void {
    task.onAbort(this.onAbort);
    this.arriving.push(task);
    if (this.arriving.length === 1) {
      queueMicrotask(() => {
        const batch = this.arriving;
        this.arriving = [];
        void this.enqueue(batch);
      });
    }
  }

  /** One listener for every task: cancel goes through the reconciler, which knows the task's job. */
  private readonly onAbort = (task: ComputeTask): void => void this.parts!.reconciler.cancel(task);

  /** A batch to Redis: refused when no live worker could ever run it, else one addBulk per resource class. */
  private async enqueue(tasks: ComputeTask[]): Promise<void> {
    const { redis, registry, queue, reconciler } = this.parts!;
    try {
      await redis.ready('cannot queue the task');
    } catch (err) {
      for (const task of tasks) reconciler.failInfrastructure(task, (err as Error).message, err as Error);
      return;
    }
    const workers = await registry.forBatch();
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
        const cls = await queue.open(need);
        const live = group.filter((t) => t.state === 'QUEUED'); // some may be canceled meanwhile
        const jobs = queue.plan(live, workers.filter((w) => fits(need, w.resources)).length);
        for (const job of jobs) reconciler.track(cls, job); // before adding: its events may come at once
        await queue.add(cls, jobs);
      } catch (err) {
        const cause = err instanceof BackendError ? err : new BackendError((err as Error).message, this.name);
        for (const task of group) {
          if (task.state === 'QUEUED') reconciler.failInfrastructure(task, `cannot queue it: ${(err as Error).message}`, cause);
        }
      }
    }
  }
}
