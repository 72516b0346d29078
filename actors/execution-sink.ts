import type { ComputeTask } from '../src/compute-task.js';

/** How an executor reports back to its backend; the backend turns these into task chart events. */
export interface ExecutionSink {
  started(task: ComputeTask): void;
  completed(task: ComputeTask, result: { returnValue?: unknown; exitCode?: number | null; stdout?: string | null; stderr?: string | null }): void;
  failed(task: ComputeTask, error: Error, details?: { exitCode?: number | null; stdout?: string | null; stderr?: string | null }): void;
  timedOut(task: ComputeTask, error: Error): void;
  /** An innocent task whose worker died is handed back to the queue (RUNNING → QUEUED). */
  requeued(task: ComputeTask): void;
}

/** Arguments a function task is called with: `args`, then `kwargs` as one trailing argument. */
export function callArguments(task: ComputeTask): unknown[] {
  return task.kwargs === undefined ? task.args : [...task.args, task.kwargs];
}
