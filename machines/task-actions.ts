import type { TaskMachineContext, TaskMachineEvent } from './task.machine.js';

/** What one of the task chart's actions changes, as plain data. */
export type TaskUpdate = Partial<Omit<TaskMachineContext, 'uid'>>;

/**
 * The task chart's actions as pure functions: the chart's `assign` actions and the runtime's fast
 * table driver both apply these, so an inspected task and an uninspected one end with the same fields.
 */
export const TASK_UPDATES: Readonly<Record<string, (context: { uid: string }, event: TaskMachineEvent) => TaskUpdate>> = {
  recordBackend: (_, event) => (event.type === 'SUBMIT' ? { backend: event.backend } : {}),
  recordResult: (_, event) =>
    event.type === 'COMPLETE'
      ? {
          exitCode: event.exitCode ?? null,
          returnValue: event.returnValue,
          response: event.response,
          stdout: event.stdout ?? null,
          stderr: event.stderr ?? null,
        }
      : {},
  recordFailure: (_, event) =>
    event.type === 'FAIL' || event.type === 'TIMEOUT'
      ? {
          error: event.error,
          ...(event.type === 'FAIL' ? { exitCode: event.exitCode ?? null, stdout: event.stdout ?? null, stderr: event.stderr ?? null } : {}),
        }
      : {},
  recordCancel: (context) => ({ error: { name: 'TaskCanceledError', message: `Task ${context.uid} was canceled` } }),
};
