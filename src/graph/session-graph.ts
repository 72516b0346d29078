import { TERMINAL_STATES, type TaskMachineEvent, type TaskStateName } from '../../machines/task.machine.js';
import { toError } from '../../actors/codec/wire-codec.mjs';
import type { RunListener, RunRegistry } from '../run/run-registry.js';
import type { TaskRun } from '../run/task-run.js';
import type { BaseTask } from '../task-base.js';
import type { DependencyError } from '../errors.js';
import { DependencyTracker, type DependencyOutcome } from './dependency-tracker.js';
import { resolveSpec } from './substitute.js';

/**
 * The session's task graph: the tracker, fed at submit and by every terminal transition (a run
 * listener, registered only once some task has a dependency, so a session without a graph pays
 * nothing), and the release of waiting runs: `DEPS_READY`, the spec with the dependencies' values,
 * admission to their backend; or `DEPENDENCY_FAILED` without running. Releases are applied in a
 * microtask after the transition that caused them (a long chain never recurses), in order.
 */
export class SessionGraph implements RunListener {
  private readonly tracker = new DependencyTracker();
  /** tasks with dependencies, not yet admitted (their inputs are substituted at release) */
  private readonly held = new Map<string, BaseTask>();
  private listening = false;
  private queue: DependencyOutcome[] = [];
  private scheduled = false;

  constructor(
    private readonly runs: RunRegistry,
    /** hands released runs to their backends */
    private readonly admit: (runs: TaskRun[]) => void,
  ) {}

  /**
   * Registers a task being submitted with its dependencies (validated). 'waiting': it waits in
   * SUBMITTED; 'ready': admit it now (`prepare` first); a DependencyError: fail it without running.
   */
  add(task: BaseTask, deps: readonly BaseTask[]): 'ready' | 'waiting' | DependencyError {
    if (!this.listening) {
      this.listening = true;
      this.runs.listen(this);
    }
    const status = this.tracker.add(task.uid, deps);
    if (status === 'waiting') this.held.set(task.uid, task);
    return status;
  }

  /**
   * The run's spec with its dependencies' values, before admission. False if that failed (a prompt
   * function threw): the run has been failed with the error.
   */
  prepare(task: BaseTask, run: TaskRun): boolean {
    try {
      const spec = resolveSpec(task, run.spec);
      if (spec !== null) run.spec = spec;
      return true;
    } catch (err) {
      run.fail(toError(err));
      return false;
    }
  }

  /** Is this run waiting for its dependencies? */
  isWaiting(run: TaskRun): boolean {
    return run.pendingReason === 'dependencies' && run.state === 'SUBMITTED';
  }

  /** Cancels every run that waits for dependencies (close, cancel all): none of them will run. */
  cancelWaiting(): number {
    let n = 0;
    for (const uid of [...this.held.keys()]) {
      const run = this.runs.get(uid);
      if (run && this.isWaiting(run)) {
        run.canceled();
        n++;
      }
    }
    return n;
  }

  transition(run: TaskRun, _previous: TaskStateName, _event: TaskMachineEvent): void {
    const state = run.state;
    if (!TERMINAL_STATES.has(state)) return;
    this.held.delete(run.uid);
    const out = this.tracker.settled(run.uid, state as 'DONE' | 'FAILED' | 'CANCELED', run.exception);
    if (out.length === 0) return;
    for (const o of out) this.queue.push(o);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  private flush(): void {
    this.scheduled = false;
    const queue = this.queue;
    this.queue = [];
    const admitted: TaskRun[] = [];
    for (const o of queue) {
      const run = this.runs.get(o.uid);
      const task = this.held.get(o.uid);
      if (!run || !this.isWaiting(run)) continue; // canceled meanwhile
      if (o.ready) {
        this.held.delete(o.uid);
        this.runs.send(run, { type: 'DEPS_READY' });
        if (task === undefined || this.prepare(task, run)) admitted.push(run);
      } else {
        this.runs.send(run, { type: 'DEPENDENCY_FAILED', error: o.error, dependencyUid: o.error.dependencyUid });
      }
    }
    if (admitted.length) this.admit(admitted);
  }
}
