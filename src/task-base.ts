import type { AnyActorRef } from 'xstate';
import type { TaskMachineEvent, TaskStateName } from '../machines/task.machine.js';
import type { PendingReason, RetryPolicy } from '../machines/task-guards.js';
import { SessionError, TaskValidationError } from './errors.js';
import type { TaskResult, TaskSnapshot } from './task-types.js';
import type { ErrorData } from './internal/remote-error.js';
import { taskOfFuture } from './graph/futures.js';

let autoUid = 0;
/**
 * The uid a task is validated under: a user uid that cannot even be turned into a string is reported
 * as a TaskValidationError (not a TypeError from `String()`).
 */
export function uidOf(options: { uid?: unknown } | undefined): string {
  const raw = options?.uid;
  if (raw === undefined) return nextTaskUid();
  if (typeof raw === 'string') return raw;
  try {
    return String(raw);
  } catch {
    throw new TaskValidationError(`Invalid task (uid not printable): uid: must be a string of 1-128 characters of [A-Za-z0-9._:-]`, undefined, 'uid');
  }
}

/** Auto uids are `task.000001`, `task.000002`, … from one process-wide counter. */
export function nextTaskUid(): string {
  return `task.${String(++autoUid).padStart(6, '0')}`;
}

const NO_DEPENDENCIES: readonly PromiseLike<TaskResult>[] = Object.freeze([]);

/** Fields a user may not set as extras: they would shadow the task's own API. */
const RESERVED = new Set(['then', 'catch', 'finally', 'cancel', 'toJSON', 'state', 'stdout', 'stderr', 'exitCode', 'returnValue', 'response', 'exception', 'attempts', 'pendingReason']);

/**
 * Where a submitted task's lifecycle is driven from. Implemented by the session; backends reach it
 * through the task so that one task object is the whole record (no per-task copies elsewhere).
 */
export interface TaskDriver {
  /** Applies one chart event to the task; false if the chart does not allow it in this state. */
  send(task: BaseTask, event: TaskMachineEvent): boolean;
  cancelTask(task: BaseTask): Promise<boolean>;
}

/** Common fields and behaviour of ComputeTask and AITask. */
export abstract class BaseTask implements PromiseLike<TaskResult> {
  abstract readonly kind: 'compute' | 'ai';
  readonly uid: string;
  /** Backend name: as given, then the one the task was routed to. */
  backend: string | null;
  state: TaskStateName = 'NEW';
  stdout: string | null = null;
  stderr: string | null = null;
  exitCode: number | null = null;
  returnValue: unknown = undefined;
  response: unknown = undefined;
  exception: Error | null = null;
  // Plain fields for now, written by the chart's actions through the table driver; the run record
  // will back them (read them, never write them).
  /** Runs started so far (a retry is one more). */
  attempts = 0;
  /** 'dependencies' while SUBMITTED and waiting for them; 'retry' while QUEUED and waiting the retry delay. */
  pendingReason: PendingReason = null;
  /** The retry policy, normalised; null: no retries. */
  readonly retries: RetryPolicy | null;
  /** The tasks and futures this task waits for (fixed at construction: a frozen, non-writable property). */
  declare readonly dependsOn: readonly PromiseLike<TaskResult>[];

  /** @internal */ _driver: TaskDriver | null = null;
  /** @internal */ _future: Promise<TaskResult> | null = null;
  /** @internal */ _resolve: ((r: TaskResult) => void) | null = null;
  /** @internal */ _reject: ((e: Error) => void) | null = null;
  /** @internal performance.now() at submit / start / end */ _submittedAt = 0;
  /** @internal */ _startedAt = 0;
  /** @internal */ _endedAt = 0;
  /** @internal the materialised task actor, when inspected */ _actor: AnyActorRef | null = null;
  /** @internal backend-private slot (executor bookkeeping) */ _exec: unknown = undefined;
  /** @internal unknown input fields, kept as the original does */ _extras: Record<string, unknown> | null = null;

  protected constructor(uid: string, backend: string | undefined, graph?: { dependsOn?: readonly PromiseLike<TaskResult>[]; retries?: RetryPolicy | null }) {
    this.uid = uid;
    this.backend = backend ?? null;
    const deps = graph?.dependsOn?.length ? Object.freeze([...graph.dependsOn]) : NO_DEPENDENCIES;
    Object.defineProperty(this, 'dependsOn', { value: deps, enumerable: true, writable: false, configurable: false });
    this.retries = graph?.retries ?? null;
  }

  /**
   * Keeps unknown input fields, as the original does: all of them in `extras`, and as read-only
   * properties of the task those that name nothing of the task's own (an extra `toResult`, `kind`
   * or `inputFields` must never shadow the task's members).
   */
  protected keepExtras(input: Record<string, unknown>, known: ReadonlySet<string>): void {
    for (const key of Object.keys(input)) {
      if (known.has(key)) continue;
      (this._extras ??= {})[key] = input[key];
      if (RESERVED.has(key) || key.startsWith('_') || key in this) continue;
      Object.defineProperty(this, key, { value: input[key], enumerable: true, writable: false, configurable: false });
    }
  }

  /** Unknown input fields given to the constructor (kept apart from the task's own fields). */
  get extras(): Readonly<Record<string, unknown>> {
    return this._extras ?? {};
  }

  /** Settles like the future returned by `submitTasks`. */
  then<R1 = TaskResult, R2 = never>(
    onfulfilled?: ((value: TaskResult) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: any) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    if (!this._future) {
      return Promise.reject(
        new SessionError(`Task ${this.uid} has no bound future. Has it been submitted to a Session?`),
      ).then(onfulfilled, onrejected);
    }
    return this._future.then(onfulfilled, onrejected);
  }

  /** Cancels the task for real (kills its process tree / worker / request). Resolves true if it was canceled. */
  cancel(): Promise<boolean> {
    if (this._driver) return this._driver.cancelTask(this);
    if (this.state === 'NEW') {
      this.state = 'CANCELED';
      return Promise.resolve(true);
    }
    return Promise.resolve(false);
  }

  /** The plain result a future resolves to. */
  toResult(): TaskResult {
    return {
      uid: this.uid,
      state: this.state,
      backend: this.backend,
      stdout: this.stdout,
      stderr: this.stderr,
      exitCode: this.exitCode,
      returnValue: this.returnValue,
      response: this.response,
    };
  }

  /** A plain snapshot with every readable field. */
  toJSON(): TaskSnapshot {
    const snap: TaskSnapshot = {
      ...this._extras, ...this.inputFields(), ...this.toResult(), kind: this.kind, exception: errorData(this.exception),
      dependsOn: this.dependsOn.map(uidOfDependency), retries: this.retries, attempts: this.attempts, pendingReason: this.pendingReason,
    };
    return snap;
  }

  protected abstract inputFields(): Record<string, unknown>;
}

/** A dependency in a snapshot: its task uid (a future names its task once submitted). */
function uidOfDependency(d: PromiseLike<TaskResult>): string | null {
  return d instanceof BaseTask ? d.uid : (taskOfFuture(d)?.uid ?? null);
}

function errorData(e: Error | null): ErrorData | null {
  return e ? { name: e.name, message: e.message, stack: e.stack } : null;
}
