import { TASK_UPDATES, type TaskUpdate } from '../../machines/task-actions.js';
import type { TaskMachineEvent } from '../../machines/task.machine.js';
import { TaskCanceledError } from '../errors.js';
import type { BaseTask } from '../task-base.js';

type RecordAction = (task: BaseTask, event: TaskMachineEvent) => void;

/** Applies one of the chart's pure updates to the task record, field for field. */
function apply(task: BaseTask, u: TaskUpdate): void {
  if ('backend' in u) task.backend = u.backend!;
  if ('exitCode' in u) task.exitCode = u.exitCode!;
  if ('returnValue' in u) task.returnValue = u.returnValue;
  if ('response' in u) task.response = u.response;
  if ('stdout' in u) task.stdout = u.stdout!;
  if ('stderr' in u) task.stderr = u.stderr!;
  if ('attempts' in u) task.attempts = u.attempts!;
  if ('pendingReason' in u) task.pendingReason = u.pendingReason!;
  if ('error' in u) {
    const e = u.error;
    // the chart keeps plain data; the record keeps a real error (a TaskCanceledError for a cancel)
    task.exception = e instanceof Error ? e : e && e.name === 'TaskCanceledError' ? new TaskCanceledError(e.message, task.uid) : (e as Error | null);
  }
}

/** The task chart's named actions (machines/task-actions.ts) applied to plain task records. */
export const RECORD_ACTIONS: Readonly<Record<string, RecordAction>> = Object.fromEntries(
  Object.entries(TASK_UPDATES).map(([name, update]) => [name, (task: BaseTask, event: TaskMachineEvent) => apply(task, update(task, event))]),
);
