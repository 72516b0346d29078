import { TASK_UPDATES, type TaskUpdate } from '../../machines/task-actions.js';
import type { TaskMachineEvent } from '../../machines/task.machine.js';
import { TaskCanceledError } from '../errors.js';
import type { TaskRun } from '../run/task-run.js';

type RecordAction = (run: TaskRun, event: TaskMachineEvent) => void;

/** Applies one of the chart's pure updates to the run record, field for field. */
function apply(run: TaskRun, u: TaskUpdate): void {
  if ('backend' in u) run.backend = u.backend!;
  if ('exitCode' in u) run.exitCode = u.exitCode!;
  if ('returnValue' in u) run.returnValue = u.returnValue;
  if ('response' in u) run.response = u.response;
  if ('stdout' in u) run.stdout = u.stdout!;
  if ('stderr' in u) run.stderr = u.stderr!;
  if ('error' in u) {
    const e = u.error;
    // the chart keeps plain data; the record keeps a real error (a TaskCanceledError for a cancel)
    run.exception = e instanceof Error ? e : e && e.name === 'TaskCanceledError' ? new TaskCanceledError(e.message, run.uid) : (e as Error | null);
  }
}

/** The task chart's named actions (machines/task-actions.ts) applied to run records. */
export const RECORD_ACTIONS: Readonly<Record<string, RecordAction>> = Object.fromEntries(
  Object.entries(TASK_UPDATES).map(([name, update]) => [name, (run: TaskRun, event: TaskMachineEvent) => apply(run, update(run, event))]),
);
