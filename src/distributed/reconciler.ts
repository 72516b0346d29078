import { decodeError } from '../../actors/codec/wire-codec.mjs';
import { BackendError, TaskExecutionError } from '../errors.js';
import { withDeadline } from '../internal/deadline.js';
import { stdoutOf } from '../run/outcome.js';
import type { ComputeTaskSpec, FailureDetails, TaskHandle } from '../run/task-handle.js';
import type { JobEvents, JobQueue, PlannedJob } from './job-queue.js';
import type { JobOutcome, TaskOutcome } from './protocol.js';
import type { RedisConnection } from './redis-connection.js';

type ComputeTask = TaskHandle<ComputeTaskSpec>;

/** A failure of what runs the task (a worker lost, a job Redis lost, Redis away), not of the task: `retries` retry it. */
const INFRASTRUCTURE: FailureDetails = { infrastructure: true };

/** A task's place in a job (its handle's slot). */
interface DistEntry {
  jobId: string;
  cancel: boolean;
  settled: Promise<void>;
  settle: () => void;
}

/** A job in flight: its class, its unsettled tasks by uid, and its recovery state. */
interface JobEntry {
  cls: string;
  tasks: Map<string, ComputeTask>;
  unreachableSince?: number;
  requeued?: boolean;
}

const UNREACHABLE = Symbol('unreachable');
/** A reconcile pass every 5 s; one more in a second while Redis is away or slow. */
const PASS_MS = 5000;
const SOON_MS = 1000;
/** One stored-job lookup may take this long before Redis counts as not answering. */
const LOOKUP_MS = 3000;
/** Jobs looked up in one pass (the rest in the next ones). */
const PER_PASS = 2000;

/**
 * The tasks in flight and the jobs that carry them, turned into task outcomes: a job's events (a
 * worker took it, it completed with every task's outcome, it failed), the jobs' stored state when
 * an event was missed (every 5 s, and at once when Redis returns), jobs Redis lost (queued again
 * once), jobs that cannot be confirmed while Redis stays away, and cancels.
 */
export class Reconciler implements JobEvents {
  private readonly jobs = new Map<string, JobEntry>();
  private timer: NodeJS.Timeout | null = null;
  private recheck: NodeJS.Timeout | null = null;
  private reconciling = false;

  constructor(
    private readonly backend: string,
    private readonly redis: RedisConnection,
    private readonly queue: JobQueue,
  ) {
    queue.listen(this);
  }

  /** Starts the periodic passes. */
  start(): void {
    this.timer = setInterval(() => void this.reconcile(), PASS_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.recheck) clearTimeout(this.recheck);
    this.timer = this.recheck = null;
  }

  /** A job about to be added: its tasks settle from its events from now on. */
  track(cls: string, job: PlannedJob): void {
    const entry: JobEntry = { cls, tasks: new Map() };
    for (const task of job.tasks) {
      let settle!: () => void;
      const settled = new Promise<void>((r) => (settle = r));
      task.slot = { jobId: job.jobId, cancel: false, settled, settle } satisfies DistEntry;
      entry.tasks.set(task.uid, task);
    }
    this.jobs.set(job.jobId, entry);
  }

  active(jobId: string): void {
    for (const task of this.jobs.get(jobId)?.tasks.values() ?? []) if (task.state === 'QUEUED') task.start();
  }

  completed(jobId: string, outcome: JobOutcome): void {
    this.finish(jobId, outcome);
  }

  failed(jobId: string, reason: string): void {
    this.finish(jobId, undefined, reason);
  }

  /** Fails a task (out of its job, if it was in one). */
  private fail(task: ComputeTask, error: Error, details?: FailureDetails): void {
    const entry = this.detach(task);
    task.fail(error, details);
    entry?.settle();
  }

  /** Fails a task because what runs it failed (`why`); `cause` defaults to a BackendError saying why. */
  failInfrastructure(task: ComputeTask, why: string, cause?: Error): void {
    this.fail(task, this.infrastructureError(task, why, cause), INFRASTRUCTURE);
  }

  /** A TaskExecutionError whose cause is a BackendError (or `cause`): what ran the task failed. */
  private infrastructureError(task: ComputeTask, why: string, cause: Error = new BackendError(why, this.backend)): TaskExecutionError {
    return new TaskExecutionError(`Task ${task.uid}: ${why}`, { taskUid: task.uid }, { cause });
  }

  /** Forgets a task's place in its job (the job is forgotten with its last task). */
  private detach(task: ComputeTask): DistEntry | undefined {
    const entry = task.slot as DistEntry | undefined;
    if (!entry) return undefined;
    const job = this.jobs.get(entry.jobId);
    if (job?.tasks.delete(task.uid) && job.tasks.size === 0) this.jobs.delete(entry.jobId);
    return entry;
  }

  /** A job ended: each task settles from its outcome; a job that failed fails what it still held. */
  private finish(jobId: string, result?: JobOutcome, failedReason?: string): void {
    const job = this.jobs.get(jobId);
    if (!job) return;
    const outcomes = new Map((result?.outcomes ?? []).map((o) => [o.uid, o]));
    for (const task of [...job.tasks.values()]) {
      const o = outcomes.get(task.uid);
      // not the task's own failure: the job could not be run (worker died too often, …)
      if (!o) this.failInfrastructure(task, failedReason ?? 'its job ended without its outcome');
      else this.settle(task, o);
    }
  }

  private settle(task: ComputeTask, o: TaskOutcome): void {
    const entry = this.detach(task)!;
    if (task.state === 'QUEUED') task.start();
    if (o.state === 'DONE') {
      task.complete({ returnValue: o.returnValue, exitCode: o.exitCode ?? null, stdout: o.stdout ?? (task.spec.function ? stdoutOf(o.returnValue) : null), stderr: o.stderr ?? null });
    } else if (o.state === 'CANCELED' || entry.cancel) {
      task.canceled();
    } else if (o.lost) {
      // its worker died under it, not by the task's doing: under `retries`, a new attempt on another worker
      task.fail(this.infrastructureError(task, o.error?.message ?? 'its worker was lost'), INFRASTRUCTURE);
    } else {
      const e = o.error!;
      const error = e.name === 'TaskExecutionError' ? new TaskExecutionError(e.message, { taskUid: task.uid, exitCode: e.exitCode, stderr: e.stderr, signal: e.signal }) : decodeError(e);
      task.fail(error, { exitCode: o.exitCode ?? null, stdout: o.stdout ?? null, stderr: o.stderr ?? null });
    }
    entry.settle();
  }

  /**
   * Settles tasks from their jobs' stored state: completed or failed jobs whose events were missed
   * finish now; jobs Redis no longer has (it restarted without persistence) are queued again once.
   */
  async reconcile(): Promise<void> {
    if (this.reconciling || this.jobs.size === 0) return;
    if (!this.redis.up) {
      // Redis away: nothing to look up; past the timeout every task waiting on it fails
      if (this.redis.gaveUp) {
        const why = this.redis.error('its job cannot be confirmed').message;
        for (const jobId of [...this.jobs.keys()]) this.finish(jobId, undefined, why);
      } else this.soon();
      return;
    }
    this.reconciling = true;
    let unreachable = false;
    try {
      for (const [jobId, entry] of [...this.jobs].slice(0, PER_PASS)) {
        // jobs settle while this loop awaits Redis: look each one up again
        if (this.jobs.get(jobId) !== entry) continue;
        // undefined for a job Redis does not have; UNREACHABLE when Redis does not answer
        const job = await withDeadline(this.queue.stored(entry.cls, jobId), LOOKUP_MS, () => new Error('no answer')).catch((): typeof UNREACHABLE => UNREACHABLE);
        if (this.jobs.get(jobId) !== entry) continue;
        if (job === UNREACHABLE) {
          // Redis not answering: look again shortly, and give up on the tasks after a deadline
          unreachable = true;
          entry.unreachableSince ??= Date.now();
          if (Date.now() - entry.unreachableSince > this.redis.timeoutMs) this.finish(jobId, undefined, this.redis.error('its job cannot be confirmed').message);
          if (!this.redis.up) break; // the rest would wait 3 s each: the next pass handles them
          continue;
        }
        entry.unreachableSince = undefined;
        if (!job) {
          // Redis lost it (restarted without persistence): queue it again once, then give up
          if (entry.requeued) this.finish(jobId, undefined, 'its job was lost twice (Redis restarting without persistence?)');
          else {
            entry.requeued = true;
            await this.queue.addAgain(entry.cls, jobId, [...entry.tasks.values()]).catch((err: Error) => this.finish(jobId, undefined, `cannot queue it again: ${err.message}`));
          }
          continue;
        }
        const state = await withDeadline(job.getState(), LOOKUP_MS, () => new Error('no answer')).catch(() => 'unknown');
        if (state === 'completed') this.finish(jobId, job.returnvalue);
        else if (state === 'failed') this.finish(jobId, undefined, job.failedReason);
      }
    } catch {
      // a reconcile pass never takes the host down; the next one runs in 5 s
    } finally {
      this.reconciling = false;
    }
    if (unreachable) this.soon();
  }

  /** One more pass in a second (Redis away or slow), unless one is already due. */
  private soon(): void {
    if (this.recheck || !this.timer) return;
    this.recheck = setTimeout(() => {
      this.recheck = null;
      void this.reconcile();
    }, SOON_MS);
    this.recheck.unref();
  }

  /** Cancel: out of a waiting job, or killed/skipped on the worker (its outcome then says CANCELED). */
  async cancel(task: ComputeTask): Promise<void> {
    const entry = task.slot as DistEntry | undefined;
    const job = entry && this.jobs.get(entry.jobId);
    if (!entry || !job?.tasks.has(task.uid)) {
      task.canceled();
      return;
    }
    if (entry.cancel) return entry.settled; // a retried task's earlier run listens too
    entry.cancel = true;
    // Redis away: no worker can be told; the task ends here (a worker may still run it)
    const local = () => {
      this.detach(task);
      task.canceled();
      entry.settle();
    };
    if (!this.redis.up) return local();
    const stored = await this.redis.call(this.queue.stored(job.cls, entry.jobId), 'cancel').catch(() => undefined);
    const state = stored ? await this.redis.call(stored.getState(), 'cancel').catch(() => 'unknown') : 'missing';
    const waiting = state === 'waiting' || state === 'delayed' || state === 'prioritized' || state === 'missing';
    // tell the workers in any case: one may take the job between our look and our change
    if (!(await this.queue.tellCancel(task.uid))) return local();
    if (waiting) {
      // the job has not started: take the task out of it (the whole job when it was the last one)
      await this.queue.keepOnly(
        job.cls,
        stored,
        [...job.tasks.values()].filter((t) => t !== task),
      );
      return local();
    }
    // running: the worker kills it (or skips it) and reports it canceled
    await entry.settled;
  }
}
