import type { AnyActorRef } from 'xstate';
import type { TaskMachineEvent, TaskStateName } from '../../machines/task.machine.js';
import type { PendingReason, RetryPolicy } from '../../machines/task-guards.js';
import type { TaskResult, TaskSnapshot } from '../task-types.js';
import { stdoutOf } from './outcome.js';
import { SettledResult } from './task-result.js';
import type { FailureDetails, Outcome, RankInfo, RunResult, TaskHandle, TaskSpec } from './task-handle.js';

/** Where a run's events go (the session's run registry). */
export interface RunDriver {
  send(run: TaskRun, event: TaskMachineEvent): boolean;
}

/** Told when one of its runs is terminal (the backend that ran it). */
export interface RunOwner {
  /** @internal */
  _runEnded(run: TaskRun): void;
}

// events without payload are shared: one object per process, not per transition
const START: TaskMachineEvent = Object.freeze({ type: 'START' });
const QUEUE: TaskMachineEvent = Object.freeze({ type: 'QUEUE' });
const CANCEL: TaskMachineEvent = Object.freeze({ type: 'CANCEL' });

/**
 * The one record of a submitted task, owned by the session's run registry: its state, results,
 * timestamps, future and abort. The user's task object reads it through getters; the backend that
 * runs it sees it as a `TaskHandle`. Nothing else keeps per-task state.
 */
export class TaskRun implements TaskHandle {
  readonly uid: string;
  /** replaced once, when the task's dependencies are DONE, by the spec with their values (src/graph/substitute.ts) */
  spec: TaskSpec;
  readonly sessionDir: string;
  state: TaskStateName = 'NEW';
  backend: string | null;
  stderr: string | null = null;
  exitCode: number | null = null;
  returnValue: unknown = undefined;
  response: unknown = undefined;
  exception: Error | null = null;
  ranks: RankInfo[] | null = null;
  attempt = 0;
  /** why a submitted run does not move on (the chart's context field): its dependencies, or its retry delay */
  pendingReason: PendingReason = null;
  /** the task's retry policy (the chart's guards read it) */
  retries: RetryPolicy | null = null;
  /** uids of the task's dependencies, set at submit when it has any and telemetry is on (it records the edges) */
  dependencyUids: readonly string[] | null = null;
  /** performance.now() at submit / start / end (0 = not yet) */
  submittedAt = 0;
  startedAt = 0;
  endedAt = 0;
  readonly future: Promise<TaskResult>;
  /** the materialised task actor, while inspected */
  actor: AnyActorRef | null = null;
  /** backend-private data for this run (a pool entry, an allocation, …) */
  slot: unknown = undefined;
  owner: RunOwner | null = null;
  resolve: ((r: TaskResult) => void) | null = null;
  reject: ((e: Error) => void) | null = null;
  aborted = false;
  /** @internal its place in its backend's list of runs in flight (-1: none) */
  _ownerAt = -1;
  /** @internal the backend's run loop started it (and holds what `reserve` took) */
  _launched = false;
  private abortController: AbortController | null = null;
  /** one listener is the common case: no array per run */
  private abortListener: ((run: TaskRun) => void) | null = null;
  private abortListeners: Array<(run: TaskRun) => void> | null = null;
  private endWaiters: Array<() => void> | null = null;
  #stdout: string | null = null;
  /** the text of an object result, made when first read (JSON of a large result can cost more than the task) */
  #stdoutOfResult = false;
  /** set while a function's COMPLETE without stdout applies: its stdout is the text of its result */
  #textOfResult = false;
  readonly #driver: RunDriver;
  /** the user's task, only to build snapshots of it (backends never see it) */
  readonly #task: { toJSON(): TaskSnapshot };

  constructor(task: { toJSON(): TaskSnapshot }, spec: TaskSpec, backend: string | null, sessionDir: string, driver: RunDriver) {
    this.uid = spec.uid;
    this.spec = spec;
    this.backend = backend;
    this.sessionDir = sessionDir;
    this.#driver = driver;
    this.#task = task;
    this.future = new Promise<TaskResult>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  get stdout(): string | null {
    if (this.#stdoutOfResult) {
      this.#stdoutOfResult = false;
      this.#stdout = stdoutOf(this.returnValue);
    }
    return this.#stdout;
  }

  set stdout(value: string | null) {
    this.#stdoutOfResult = false;
    if (this.#textOfResult && value === null) {
      // a primitive's text is cheap and made now; an object's waits until someone reads it
      if (typeof this.returnValue === 'object' && this.returnValue !== null) this.#stdoutOfResult = true;
      else this.#stdout = stdoutOf(this.returnValue);
      return;
    }
    this.#stdout = value;
  }

  /** @internal true while `stdout` is the not yet made text of an object result */
  get stdoutDeferred(): boolean {
    return this.#stdoutOfResult;
  }

  /** @internal The registry that drives this run (a dependency must belong to the same session). */
  get driver(): RunDriver {
    return this.#driver;
  }

  /** The chart's name for `attempt` (its guards read the record as they read the chart's context). */
  get attempts(): number {
    return this.attempt;
  }

  /** @internal The user's task object (for the graph: a settled future names its task through its run). */
  get task(): unknown {
    return this.#task;
  }

  /** A plain snapshot of the task (`task.toJSON()`). */
  snapshot(): TaskSnapshot {
    return this.#task.toJSON();
  }

  result(): TaskResult {
    return new SettledResult(this);
  }

  get signal(): AbortSignal {
    if (!this.abortController) {
      this.abortController = new AbortController();
      if (this.aborted) this.abortController.abort();
    }
    return this.abortController.signal;
  }

  onAbort(listener: (run: any) => void): void {
    if (this.aborted) listener(this);
    else if (this.abortListener === null) this.abortListener = listener;
    else (this.abortListeners ??= []).push(listener);
  }

  /** Cancels the run: fires its abort listeners and signal (once). False if nothing listened. */
  abort(): boolean {
    if (this.aborted) return true;
    this.aborted = true;
    const heard = this.abortController !== null || this.abortListener !== null;
    this.abortController?.abort();
    const first = this.abortListener;
    const rest = this.abortListeners;
    this.abortListener = null;
    this.abortListeners = null;
    first?.(this);
    if (rest) for (const l of rest) l(this);
    return heard;
  }

  /** Resolves when the run is terminal. */
  ended(): Promise<void> {
    if (this.endedAt > 0) return Promise.resolve();
    return new Promise<void>((r) => (this.endWaiters ??= []).push(r));
  }

  /** @internal the registry marks the run terminal */
  _end(): void {
    this.abortListener = null;
    this.abortListeners = null;
    this.slot = undefined;
    const waiters = this.endWaiters;
    this.endWaiters = null;
    if (waiters) for (const w of waiters) w();
  }

  start(): void {
    this.#driver.send(this, START);
  }

  requeue(): void {
    this.#driver.send(this, QUEUE);
  }

  complete(result: RunResult = {}): void {
    if (result.ranks !== undefined) this.ranks = result.ranks;
    // a function task completed without stdout: its stdout is the text form of its result (made when
    // first read; at once while inspected, so that the chart's context holds it too)
    let stdout = result.stdout;
    if (stdout === undefined && this.spec.kind === 'compute' && this.spec.function !== undefined) {
      if (this.actor) stdout = stdoutOf(result.returnValue);
      else this.#textOfResult = true;
    }
    try {
      this.#driver.send(this, {
        type: 'COMPLETE',
        returnValue: result.returnValue,
        response: result.response,
        exitCode: result.exitCode,
        stdout,
        stderr: result.stderr,
      });
    } finally {
      this.#textOfResult = false;
    }
  }

  fail(error: Error, details: FailureDetails = {}): void {
    if (details.ranks !== undefined) this.ranks = details.ranks;
    if (details.timedOut) this.#driver.send(this, { type: 'TIMEOUT', error });
    else this.#driver.send(this, { type: 'FAIL', error, exitCode: details.exitCode, stdout: details.stdout, stderr: details.stderr, infrastructure: details.infrastructure });
  }

  canceled(): void {
    this.#driver.send(this, CANCEL);
  }

  settle(outcome: Outcome): void {
    if (outcome.status === 'done') this.complete(outcome);
    else if (outcome.status === 'failed') this.fail(outcome.error, outcome);
    else this.canceled();
  }
}
