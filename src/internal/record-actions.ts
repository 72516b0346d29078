import type { TaskMachineEvent } from '../../machines/task.machine.js';
import { TaskCanceledError } from '../errors.js';
import type { BaseTask } from '../task-base.js';

type RecordAction = (task: BaseTask, event: TaskMachineEvent) => void;

/**
 * Plain implementations of the task chart's named actions, applied to the task record itself.
 * They do what the chart's `assign` actions do to an inspected actor's context, field for field.
 */
export const RECORD_ACTIONS: Readonly<Record<string, RecordAction>> = {
  recordBackend(task, event) {
    if (event.type === 'SUBMIT') task.backend = event.backend;
  },
  recordResult(task, event) {
    if (event.type !== 'COMPLETE') return;
    if (event.exitCode !== undefined) task.exitCode = event.exitCode;
    if (event.returnValue !== undefined) task.returnValue = event.returnValue;
    if (event.response !== undefined) task.response = event.response;
    if (event.stdout !== undefined) task.stdout = event.stdout;
    if (event.stderr !== undefined) task.stderr = event.stderr;
  },
  recordFailure(task, event) {
    if (event.type !== 'FAIL' && event.type !== 'TIMEOUT') return;
    task.exception = event.error as Error;
    if (event.type === 'FAIL') {
      if (event.exitCode !== undefined) task.exitCode = event.exitCode;
      if (event.stdout !== undefined) task.stdout = event.stdout;
      if (event.stderr !== undefined) task.stderr = event.stderr;
    }
  },
  recordCancel(task) {
    task.exception = new TaskCanceledError(`Task ${task.uid} was canceled`, task.uid);
  },
};
