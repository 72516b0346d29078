import type { TaskMachineEvent, TaskStateName } from '../../machines/task.machine.js';
import { DELAYED } from '../internal/lifecycle-table.js';
import type { RunListener, RunRegistry } from './run-registry.js';
import type { TaskRun } from './task-run.js';

/** What a run's backend does for a retry (the Backend base implements it). */
export interface RetryOwner {
  _runRetrying(run: TaskRun): void;
  _submit(runs: TaskRun[]): void;
}

/**
 * Runs the chart's delayed transitions for the table driver: when a run enters a state with a delayed
 * transition whose guard holds (QUEUED after a retryable failure), its backend gives back what the
 * attempt held, a timer of the chart's delay starts, and when it fires the run gets the delay's event
 * (`pendingReason` cleared) and is admitted again. A timer is cleared when its run leaves the state
 * (canceled, closed). Registered by the session only once a task with `retries` is submitted.
 */
export class RetryTimers implements RunListener {
  private readonly timers = new Map<TaskRun, NodeJS.Timeout>();

  constructor(private readonly runs: RunRegistry) {}

  transition(run: TaskRun, previous: TaskStateName, _event: TaskMachineEvent): void {
    const pending = this.timers.get(run);
    if (pending !== undefined && run.pendingReason !== 'retry') {
      clearTimeout(pending);
      this.timers.delete(run);
    }
    const delayed = DELAYED[run.state];
    if (delayed === undefined || previous === run.state || !delayed.transition.guard!(run, { type: delayed.event } as never)) return;
    const owner = run.owner as unknown as RetryOwner | null;
    owner?._runRetrying(run);
    const timer = setTimeout(() => {
      this.timers.delete(run);
      if (run.state !== 'QUEUED' || run.endedAt > 0) return;
      if (this.runs.send(run, { type: delayed.event } as never) && owner) owner._submit([run]);
    }, delayed.ms(run));
    this.timers.set(run, timer);
  }

  /** Clears every timer (the session is closing; its runs are being canceled). */
  clear(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
