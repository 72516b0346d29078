import { RETRY_DELAY_EVENT, type TaskMachineEvent, type TaskStateName } from '../../machines/task.machine.js';
import type { GraphCounts } from '../internal/statistics.js';
import type { RunListener } from '../run/run-registry.js';
import type { TaskRun } from '../run/task-run.js';

/**
 * Keeps the session's graph counts (`getStatistics().graph`) from transitions: who waits for
 * dependencies or a retry delay now, how many retries and dependency failures there were. A run
 * listener the session registers once a task has dependencies or retries, so a session without
 * either pays nothing per transition. Reads only the run's state and `pendingReason`, which the chart
 * sets: `'dependencies'` from submit until DEPS_READY, `'retry'` from a retryable failure until the
 * delay ends; a terminal run keeps the reason it had when it ended.
 */
export class GraphStatistics implements RunListener {
  constructor(private readonly counts: GraphCounts) {}

  transition(run: TaskRun, previous: TaskStateName, event: TaskMachineEvent): void {
    const reason = run.pendingReason;
    const state = run.state;
    if (previous === 'NEW') {
      if (reason === 'dependencies') this.counts.waiting++;
    } else if (previous === 'SUBMITTED') {
      // released (DEPS_READY), failed by a dependency, or canceled while waiting
      if (event.type === 'DEPS_READY' || (state !== 'SUBMITTED' && reason === 'dependencies')) this.counts.waiting--;
    } else if (previous === 'QUEUED') {
      // the delay ended (QUEUED → QUEUED, reason cleared), or canceled while waiting it
      if ((event.type as string) === RETRY_DELAY_EVENT || (state !== 'QUEUED' && reason === 'retry')) this.counts.retrying--;
    } else if (previous === 'RUNNING' && state === 'QUEUED' && reason === 'retry') {
      this.counts.retrying++;
      this.counts.retries++;
    }
    if (event.type === 'DEPENDENCY_FAILED' && state === 'FAILED') this.counts.dependencyFailures++;
  }
}
