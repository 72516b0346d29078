import type { TaskStateName } from '../../machines/task.machine.js';

export interface SessionStatistics {
  /** Tasks per state: terminal states count every task that ended there; others count tasks there now. */
  counts: Record<TaskStateName, number>;
  /** Average latencies in ms: total = submitted→terminal, queue = submitted→running, execution = running→terminal. */
  summary: { avgTotal: number | null; avgQueue: number | null; avgExecution: number | null };
  /** The task graph and retries (docs/task-graph.md); all 0 in a session without either. */
  graph: GraphCounts;
}

export interface GraphCounts {
  /** tasks in SUBMITTED waiting for their dependencies now */
  waiting: number;
  /** tasks in QUEUED waiting their retry delay now */
  retrying: number;
  /** retries so far (attempts that failed and were run again, or are waiting to be) */
  retries: number;
  /** tasks that ended FAILED with a DependencyError (never ran) */
  dependencyFailures: number;
}

/** Running sums only: nothing is kept per task. */
export class RunningStatistics {
  readonly counts: Record<TaskStateName, number> = {
    NEW: 0,
    SUBMITTED: 0,
    QUEUED: 0,
    RUNNING: 0,
    DONE: 0,
    FAILED: 0,
    CANCELED: 0,
  };
  /** kept by the graph's listener (src/graph/graph-statistics.ts), registered once a task has dependencies or retries */
  readonly graph: GraphCounts = { waiting: 0, retrying: 0, retries: 0, dependencyFailures: 0 };
  private ended = 0;
  private started = 0;
  private sumTotal = 0;
  private sumQueue = 0;
  private sumExecution = 0;

  move(from: TaskStateName, to: TaskStateName): void {
    this.counts[from]--;
    this.counts[to]++;
  }

  enter(state: TaskStateName): void {
    this.counts[state]++;
  }

  /** Records one terminal task's latencies (performance.now() stamps; startedAt 0 = never ran). */
  end(submittedAt: number, startedAt: number, endedAt: number): void {
    this.ended++;
    this.sumTotal += endedAt - submittedAt;
    if (startedAt > 0) {
      this.started++;
      this.sumQueue += startedAt - submittedAt;
      this.sumExecution += endedAt - startedAt;
    }
  }

  snapshot(): SessionStatistics {
    const avg = (sum: number, n: number) => (n === 0 ? null : sum / n);
    return {
      counts: { ...this.counts },
      summary: {
        avgTotal: avg(this.sumTotal, this.ended),
        avgQueue: avg(this.sumQueue, this.started),
        avgExecution: avg(this.sumExecution, this.started),
      },
      graph: { ...this.graph },
    };
  }
}
