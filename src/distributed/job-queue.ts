import { randomBytes } from 'node:crypto';
import { type Job, Queue, QueueEvents } from 'bullmq';
import { moduleSpecifier } from '../../actors/function-pool/worker-pool.js';
import { withDeadline } from '../internal/deadline.js';
import { shipFunction } from '../internal/function-shipping.js';
import type { ComputeTaskSpec, TaskHandle } from '../run/task-handle.js';
import type { ModuleFunctionRef } from '../task-types.js';
import { classKey, keys, type JobData, type JobOutcome, type Resources, type TaskData } from './protocol.js';
import type { RedisConnection } from './redis-connection.js';

type ComputeTask = TaskHandle<ComputeTaskSpec>;

/** What the queues' events report, by job id (the reconciler turns them into task outcomes). */
export interface JobEvents {
  /** a worker took the job */
  active(jobId: string): void;
  /** the job ended with every task's outcome */
  completed(jobId: string, outcome: JobOutcome): void;
  /** the job itself failed (a task's failure never fails its job): its worker died too often, … */
  failed(jobId: string, reason: string): void;
}

/** A job about to be added: its id and the tasks it carries. */
export interface PlannedJob {
  jobId: string;
  tasks: ComputeTask[];
}

/** Finished jobs stay a while so a missed event can be recovered from their stored state. */
const KEEP = { age: 600, count: 20_000 };

/** Most tasks one job carries; batches are cut so every worker still gets several jobs. */
const MAX_CHUNK = 64;

/** A worker that dies mid-job: the job runs again, up to 3 attempts in all. */
const jobOptions = (jobId: string) => ({ jobId, attempts: 3, backoff: { type: 'fixed' as const, delay: 200 }, removeOnComplete: KEEP, removeOnFail: KEEP });

interface ClassQueue {
  queue: Queue;
  events: QueueEvents;
  need: Resources;
}

/**
 * The BullMQ side of the backend: one queue (with its QueueEvents) per resource class, opened on
 * first use and registered in the class registry the workers watch; tasks go in as jobs of several
 * tasks each, and come out of a waiting job when canceled.
 */
export class JobQueue {
  private readonly queues = new Map<string, ClassQueue>();
  private listener: JobEvents | null = null;

  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
  ) {}

  /** Where the queues' events go. */
  listen(listener: JobEvents): void {
    this.listener = listener;
  }

  /** Opens the queue of a resource class (once) and registers the class; returns the class key. */
  async open(need: Resources): Promise<string> {
    const cls = classKey(need);
    if (this.queues.has(cls)) return cls;
    const k = keys(this.prefix);
    const name = k.queue(cls);
    const connection = this.redis.bull;
    const events = new QueueEvents(name, { connection });
    events.on('error', () => undefined);
    const queue = new Queue(name, { connection });
    queue.on('error', () => undefined);
    this.queues.set(cls, { queue, events, need });
    events.on('active', ({ jobId }) => this.listener?.active(jobId));
    events.on('completed', ({ jobId, returnvalue }) => this.listener?.completed(jobId, returnvalue as unknown as JobOutcome));
    events.on('failed', ({ jobId, failedReason }) => this.listener?.failed(jobId, failedReason));
    await this.redis.call(events.waitUntilReady(), 'opening the queue');
    await this.redis.call(this.redis.client.sadd(k.classes, JSON.stringify(need)), 'registering the resource class');
    return cls;
  }

  /** Puts every open class back in the registry (a restarted Redis lost it; workers watch it). */
  async registerClasses(): Promise<void> {
    const needs = [...this.queues.values()].map((q) => JSON.stringify(q.need));
    if (needs.length) await this.redis.client.sadd(keys(this.prefix).classes, ...needs).catch(() => undefined);
  }

  /** Cuts a class's tasks into jobs of up to 64 tasks, so each of `takers` workers still gets about four. */
  plan(tasks: ComputeTask[], takers: number): PlannedJob[] {
    const size = Math.min(MAX_CHUNK, Math.max(1, Math.floor(tasks.length / (4 * Math.max(1, takers)))));
    const jobs: PlannedJob[] = [];
    for (let i = 0; i < tasks.length; i += size) {
      const chunk = tasks.slice(i, i + size);
      jobs.push({ jobId: `${chunk[0]!.uid}-${randomBytes(4).toString('hex')}`, tasks: chunk });
    }
    return jobs;
  }

  /** Adds planned jobs to their class's queue (opened): one addBulk per thousand, not a round trip per job. */
  async add(cls: string, jobs: PlannedJob[]): Promise<void> {
    const { queue, need } = this.queues.get(cls)!;
    const bulk = jobs.map(({ jobId, tasks }) => ({ name: tasks[0]!.uid, data: jobData(tasks, need), opts: jobOptions(jobId) }));
    for (let i = 0; i < bulk.length; i += 1000) await this.redis.call(queue.addBulk(bulk.slice(i, i + 1000)), 'adding jobs');
  }

  /** Queues a job Redis lost again, under the same id. */
  async addAgain(cls: string, jobId: string, tasks: ComputeTask[]): Promise<void> {
    const { queue, need } = this.queues.get(cls)!;
    await this.redis.call(queue.add(tasks[0]!.uid, jobData(tasks, need), jobOptions(jobId)), 'queueing a lost job again');
  }

  /** The job as Redis stores it (undefined: Redis does not have it); not bounded: callers bound it. */
  stored(cls: string, jobId: string): Promise<Job<JobData, JobOutcome> | undefined> {
    return this.queues.get(cls)!.queue.getJob(jobId) as Promise<Job<JobData, JobOutcome> | undefined>;
  }

  /** Takes tasks out of a job that has not started: `rest` is what it keeps (none: the job goes). */
  async keepOnly(cls: string, stored: Job | undefined, rest: ComputeTask[]): Promise<void> {
    if (!stored) return;
    const { need } = this.queues.get(cls)!;
    await this.redis.call(rest.length === 0 ? stored.remove() : stored.updateData(jobData(rest, need)), 'cancel').catch(() => undefined);
  }

  /** Tells every worker to kill or skip the task (Redis pub/sub, by uid); false if Redis did not take it. */
  tellCancel(uid: string): Promise<boolean> {
    return this.redis.call(this.redis.client.publish(keys(this.prefix).cancel, uid), 'cancel').then(
      () => true,
      () => false,
    );
  }

  /** Closes every queue's clients, gracefully within `graceMs`, else by force (Redis gone). */
  async close(graceMs: number): Promise<void> {
    await Promise.all([...this.queues.values()].flatMap(({ queue, events }) => [closeWithin(events, graceMs), closeWithin(queue, graceMs)]));
  }
}

function jobData(tasks: ComputeTask[], resources: Resources): JobData {
  return { tasks: tasks.map(taskData), resources };
}

function functionData(fn: (...args: never[]) => unknown): NonNullable<TaskData['fn']> {
  const shipped = shipFunction(fn);
  return shipped.wire ? { source: shipped.source, wire: shipped.wire } : { source: shipped.source };
}

/** One task as its job carries it to a worker. */
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
    hostRetries: retriesLeft(task) || undefined,
  };
}

/**
 * Whether the task's retries allow one more attempt after the one this job carries: then a worker
 * lost under it is the runtime's retry (a new attempt, counted), not BullMQ's silent re-run.
 */
function retriesLeft(task: ComputeTask): boolean {
  const policy = task.retries;
  if (policy === null) return false;
  const attempt = task.state === 'RUNNING' ? task.attempt : task.attempt + 1; // the attempt the job runs
  return attempt <= policy.max;
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
