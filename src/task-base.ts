import type { TaskStateName } from '../machines/task.machine.js';
import type { PendingReason, RetryPolicy } from '../machines/task-guards.js';
import { taskOfFuture } from './graph/futures.js';
import { SessionError, TaskValidationError } from './errors.js';
import { resultOf, type TaskResult, type TaskSnapshot } from './task-types.js';
import type { ErrorData } from '../actors/codec/wire-codec.mjs';
import type { TaskSpec } from './run/task-handle.js';
import type { TaskRun } from './run/task-run.js';

let autoUid = 0;
/**
 * The uid a task is validated under: a user uid that cannot even be turned into a string is reported
 * as a TaskValidationError (not a TypeError from `String()`).
 */
export function uidOf(options: { uid?: unknown } | undefined): string {
  const raw = options?.uid;
  if (raw === undefined) return nextTaskUid();
  if (typeof raw === 'string') {
    if (raw.startsWith(AUTO_PREFIX)) autoPrefixTaken = true;
    return raw;
  }
  try {
    return String(raw);
  } catch {
    throw new TaskValidationError(`Invalid task (uid not printable): uid: must be a string of 1-128 characters of [A-Za-z0-9._:-]`, undefined, 'uid');
  }
}

/** Auto uids are `task.000001`, `task.000002`, … from one process-wide counter. */
const AUTO_PREFIX = 'task.';
// set once a uid given by the user starts like the generated ones: from then on those may collide
let autoPrefixTaken = false;

/**
 * @internal False when the uid is a generated one that cannot collide with any other (no uid given
 * by a user has ever looked like a generated one): submit skips the duplicate check for it.
 */
export function uidMayCollide(uid: string): boolean {
  return autoPrefixTaken || !uid.startsWith(AUTO_PREFIX);
}

export function nextTaskUid(): string {
  return `task.${String(++autoUid).padStart(6, '0')}`;
}

const NO_DEPENDENCIES: readonly PromiseLike<TaskResult>[] = Object.freeze([]);

/** Fields a user may not set as extras: they would shadow the task's own API. */
const RESERVED = new Set(['then', 'catch', 'finally', 'cancel', 'toJSON', 'state', 'stdout', 'stderr', 'exitCode', 'returnValue', 'response', 'exception', 'attempts', 'pendingReason']);

/** The session-side of a task: how `task.cancel()` reaches the session that runs it. */
export interface TaskDriver {
  cancelTask(task: BaseTask): Promise<boolean>;
}

let attachRun: (task: BaseTask, run: TaskRun, driver: TaskDriver) => void;
let readRun: (task: BaseTask) => TaskRun | null;
let claim: (task: BaseTask, batch: object) => boolean;

/** @internal Marks a task as taken by a batch being routed; false if that batch already has it. */
export function claimForBatch(task: BaseTask, batch: object): boolean {
  return claim(task, batch);
}

/** @internal Binds a task to its run record at submit (the session's registry calls this). */
export function bindRun(task: BaseTask, run: TaskRun, driver: TaskDriver): void {
  attachRun(task, run, driver);
}

/** @internal The run record of a submitted task, or null. */
export function runOf(task: BaseTask): TaskRun | null {
  return readRun(task);
}

/**
 * Common fields and behaviour of ComputeTask and AITask. What the runtime sets (`state`, results,
 * `exception`, `attempts`) are getters over the task's run record, owned by the session: a task
 * object is a read-only view once submitted, and nothing of the runtime is stored on it.
 *
 * @example
 * const tasks: BaseTask[] = [new ComputeTask({ executable: '/bin/true' }), new AITask({ prompt: 'hi', model: 'tiny' })];
 * await session.submitTasks(tasks);
 * await session.waitTasks(tasks);
 * for (const t of tasks) console.log(t.uid, t.kind, t.state, t.exitCode ?? t.response);
 */
export abstract class BaseTask implements PromiseLike<TaskResult> {
  abstract readonly kind: 'compute' | 'ai';
  readonly uid: string;
  #run: TaskRun | null = null;
  /** the batch routing this task (a task given twice in one batch is refused without a set of uids) */
  #batch: object | null = null;
  #driver: TaskDriver | null = null;
  #backend: string | null;
  #canceledEarly = false;
  #extras: Record<string, unknown> | null = null;
  /** The retry policy, normalised; null: no retries. */
  readonly retries: RetryPolicy | null;
  #dependsOn: readonly PromiseLike<TaskResult>[];

  static {
    attachRun = (task, run, driver) => {
      task.#run = run;
      task.#driver = driver;
    };
    readRun = (task) => task.#run;
    claim = (task, batch) => {
      if (task.#batch === batch) return false;
      task.#batch = batch;
      return true;
    };
  }

  protected constructor(uid: string, backend: string | undefined, graph?: { dependsOn?: readonly PromiseLike<TaskResult>[]; retries?: RetryPolicy | null }) {
    this.uid = uid;
    this.#backend = backend ?? null;
    this.#dependsOn = graph?.dependsOn?.length ? Object.freeze([...graph.dependsOn]) : NO_DEPENDENCIES;
    this.retries = graph?.retries ?? null;
  }

  /** Backend name: as given, then the one the task was routed to. */
  get backend(): string | null {
    return this.#run ? this.#run.backend : this.#backend;
  }

  get state(): TaskStateName {
    return this.#run ? this.#run.state : this.#canceledEarly ? 'CANCELED' : 'NEW';
  }

  get stdout(): string | null {
    return this.#run?.stdout ?? null;
  }

  get stderr(): string | null {
    return this.#run?.stderr ?? null;
  }

  get exitCode(): number | null {
    return this.#run?.exitCode ?? null;
  }

  get returnValue(): unknown {
    return this.#run?.returnValue;
  }

  get response(): unknown {
    return this.#run?.response;
  }

  get exception(): Error | null {
    return this.#run?.exception ?? null;
  }

  /** How many times the task started running (0 until it runs). */
  get attempts(): number {
    return this.#run?.attempt ?? 0;
  }

  /** The tasks and futures this task waits for: fixed at construction (a frozen array, no setter). */
  get dependsOn(): readonly PromiseLike<TaskResult>[] {
    return this.#dependsOn;
  }

  /** 'dependencies' while SUBMITTED and waiting for them; 'retry' while QUEUED and waiting its retry delay; else null. */
  get pendingReason(): PendingReason {
    return this.#run?.pendingReason ?? null;
  }

  /**
   * Keeps unknown input fields, as the original does: all of them in `extras`, and as read-only
   * properties of the task those that name nothing of the task's own (an extra `toResult`, `kind`
   * or `inputFields` must never shadow the task's members).
   */
  protected keepExtras(input: Record<string, unknown>, known: ReadonlySet<string>): void {
    for (const key of Object.keys(input)) {
      if (known.has(key)) continue;
      (this.#extras ??= {})[key] = input[key];
      if (RESERVED.has(key) || key.startsWith('_') || key in this) continue;
      Object.defineProperty(this, key, { value: input[key], enumerable: true, writable: false, configurable: false });
    }
  }

  /** Unknown input fields given to the constructor (kept apart from the task's own fields). */
  get extras(): Readonly<Record<string, unknown>> {
    return this.#extras ?? {};
  }

  /** Settles like the future returned by `submitTasks`. */
  then<R1 = TaskResult, R2 = never>(onfulfilled?: ((value: TaskResult) => R1 | PromiseLike<R1>) | null, onrejected?: ((reason: any) => R2 | PromiseLike<R2>) | null): Promise<R1 | R2> {
    if (!this.#run) {
      return Promise.reject(new SessionError(`Task ${this.uid} has no bound future. Has it been submitted to a Session?`)).then(onfulfilled, onrejected);
    }
    return this.#run.future.then(onfulfilled, onrejected);
  }

  /** Cancels the task for real (kills its process tree / worker / request). Resolves true if it was canceled. */
  cancel(): Promise<boolean> {
    if (this.#driver) return this.#driver.cancelTask(this);
    if (this.state === 'NEW') {
      this.#canceledEarly = true;
      return Promise.resolve(true);
    }
    return Promise.resolve(false);
  }

  /** The plain result a future resolves to. */
  toResult(): TaskResult {
    return resultOf(this);
  }

  /** A plain snapshot with every readable field. */
  toJSON(): TaskSnapshot {
    const snap: TaskSnapshot = {
      ...this.#extras,
      ...this.inputFields(),
      ...this.toResult(),
      kind: this.kind,
      exception: errorData(this.exception),
      dependsOn: this.dependsOn.map(uidOfDependency),
      retries: this.retries,
      attempts: this.attempts,
      pendingReason: this.pendingReason,
    };
    return snap;
  }

  /** @internal The task's inputs as a frozen spec: what a backend sees of it. */
  abstract _spec(): TaskSpec;

  protected abstract inputFields(): Record<string, unknown>;
}

/** A dependency in a snapshot: its task uid (a future names its task once submitted). */
function uidOfDependency(d: PromiseLike<TaskResult>): string | null {
  return d instanceof BaseTask ? d.uid : (taskOfFuture(d)?.uid ?? null);
}

function errorData(e: Error | null): ErrorData | null {
  return e ? { name: e.name, message: e.message, stack: e.stack } : null;
}
