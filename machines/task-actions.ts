import type { TaskMachineContext, TaskMachineEvent } from './task.machine.js';

/** What one of the task chart's actions changes, as plain data. */
export type TaskUpdate = Partial<Omit<TaskMachineContext, 'uid' | 'retries'>>;

/** What the actions read: the chart's context and the runtime's task record both have it. */
export interface ActionContext {
  uid: string;
  attempts: number;
}

/**
 * The task chart's actions as pure functions: the chart's `assign` actions and the runtime's fast
 * table driver both apply these, so an inspected task and an uninspected one end with the same fields.
 */
export const TASK_UPDATES: Readonly<Record<string, (context: ActionContext, event: TaskMachineEvent) => TaskUpdate>> = {
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
    event.type === 'FAIL' || event.type === 'TIMEOUT' || event.type === 'DEPENDENCY_FAILED'
      ? {
          error: event.error,
          ...(event.type === 'FAIL' ? { exitCode: event.exitCode ?? null, stdout: event.stdout ?? null, stderr: event.stderr ?? null } : {}),
        }
      : {},
  recordCancel: (context) => ({ error: { name: 'TaskCanceledError', message: `Task ${context.uid} was canceled` } }),
  /** a task submitted with dependencies that are not DONE waits for them in SUBMITTED */
  awaitDependencies: () => ({ pendingReason: 'dependencies' }),
  dependenciesReady: () => ({ pendingReason: null }),
  /** `attempts` counts runs: one more each time the task starts */
  countAttempt: (context) => ({ attempts: context.attempts + 1 }),
  /** a failed attempt that will be retried: its error stays visible while the task waits its delay */
  recordRetry: (_, event) => ({ pendingReason: 'retry', error: event.type === 'FAIL' || event.type === 'TIMEOUT' ? event.error : null }),
  retryReady: () => ({ pendingReason: null, error: null }),
};
