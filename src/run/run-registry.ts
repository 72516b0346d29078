import { createActor } from 'xstate';
import { taskMachine, TERMINAL_STATES, type TaskMachineEvent, type TaskStateName } from '../../machines/task.machine.js';
import { nextTransition } from '../internal/lifecycle-table.js';
import type { RetryPolicy } from '../../machines/task-guards.js';
import { RECORD_ACTIONS } from '../internal/record-actions.js';
import { RunningStatistics } from '../internal/statistics.js';
import type { TaskSnapshot } from '../task-types.js';
import { noteRejection } from './task-result.js';
import { TaskRun, type RunDriver } from './task-run.js';
import type { TaskSpec } from './task-handle.js';

/**
 * Told of every transition of every run: statistics, streams, telemetry and the inspector are
 * listeners, so the registry's `send` has no per-feature branches.
 */
export interface RunListener {
  /** a run was made for a submitted task (state NEW) */
  created?(run: TaskRun): void;
  transition(run: TaskRun, previous: TaskStateName, event: TaskMachineEvent): void;
}

const noop = (): void => undefined;

// the registries of sessions not yet closed: a live future of another session is named as such
const openRegistries = new Set<RunRegistry>();

/**
 * The session's runs: one record per live task, driven through the task chart's table. A run is
 * dropped from the registry when it is terminal (its task object keeps reading it).
 */
export class RunRegistry implements RunDriver {
  readonly stats = new RunningStatistics();
  private readonly live = new Map<string, TaskRun>();
  private readonly listeners: RunListener[] = [];

  constructor(private readonly inspect?: (e: any) => void) {
    openRegistries.add(this);
  }

  /** Every live run of every open session, by its future (built only when a future is met as a dependency). */
  static liveRunsByFuture(): Map<unknown, TaskRun> {
    const map = new Map<unknown, TaskRun>();
    for (const registry of openRegistries) for (const run of registry.live.values()) map.set(run.future, run);
    return map;
  }

  /** The session closed: its runs are no longer looked up by other sessions. */
  closed(): void {
    openRegistries.delete(this);
  }

  /** Adds a transition listener; returns a function that removes it. */
  listen(listener: RunListener): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  get(uid: string): TaskRun | undefined {
    return this.live.get(uid);
  }

  has(uid: string): boolean {
    return this.live.has(uid);
  }

  values(): IterableIterator<TaskRun> {
    return this.live.values();
  }

  get size(): number {
    return this.live.size;
  }

  /** Makes the record of a task being submitted (state NEW; `SUBMIT` moves it on). */
  create(task: { toJSON(): TaskSnapshot; readonly retries?: RetryPolicy | null }, spec: TaskSpec, backend: string | null, sessionDir: string, now: number): TaskRun {
    const uid = spec.uid;
    const run = new TaskRun(task, spec, backend, sessionDir, this);
    run.submittedAt = now;
    run.retries = task.retries ?? null;
    this.live.set(uid, run);
    this.stats.enter('NEW');
    if (this.inspect) {
      const actor = createActor(taskMachine, { input: { uid, backend, retries: run.retries }, inspect: this.inspect, id: uid });
      actor.subscribe({ error: noop });
      run.actor = actor.start();
    }
    for (const l of this.listeners) l.created?.(run);
    return run;
  }

  /** Applies one chart event to a run (table lookup, the chart's guards and named actions); false if illegal now. */
  send(run: TaskRun, event: TaskMachineEvent): boolean {
    const transition = nextTransition(run, run.state, event);
    if (transition === undefined) return false;
    const previous = run.state;
    const target = transition.target;
    run.state = target;
    for (const a of transition.actions) RECORD_ACTIONS[a]!(run, event);
    // the chart's countAttempt action counts runs
    if (target === 'RUNNING') run.startedAt = performance.now();
    this.stats.move(previous, target);
    if (run.actor) run.actor.send(event);
    const terminal = TERMINAL_STATES.has(target);
    if (terminal) run.endedAt = performance.now();
    const listeners = this.listeners;
    for (let i = 0; i < listeners.length; i++) listeners[i]!.transition(run, previous, event);
    if (terminal) this.finish(run);
    return true;
  }

  private finish(run: TaskRun): void {
    this.stats.end(run.submittedAt, run.startedAt, run.endedAt);
    this.live.delete(run.uid);
    if (run.actor) {
      run.actor.stop();
      run.actor = null;
    }
    const owner = run.owner;
    run.owner = null;
    run._end();
    const resolve = run.resolve;
    const reject = run.reject;
    run.resolve = run.reject = null;
    if (run.state === 'DONE') resolve?.(run.result());
    else if (reject) {
      // an ignored failure must not crash the host as an unhandled rejection; handled here rather
      // than at creation, where a catch per future costs every task (a derived promise each)
      run.future.catch(noop);
      noteRejection(run.exception, run);
      reject(run.exception!);
    }
    owner?._runEnded(run);
  }
}
