import type { BaseTask } from '../task-base.js';

/**
 * Maps each future returned by submitTasks back to its task, so that a future given as a dependency
 * names a task. The task rides on the future under a private symbol: one property store per submitted
 * task (a WeakMap entry cost measurably more per task on the 100k-task flood, and GC work), nothing
 * kept once the future is dropped. The session fills it at submit.
 */
const TASK = Symbol('rhapsody.task');

export function registerFuture(future: Promise<unknown>, task: BaseTask): void {
  (future as unknown as Record<symbol, BaseTask>)[TASK] = task;
}

/** The task a future was returned for, or undefined for any other value. */
export function taskOfFuture(value: unknown): BaseTask | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<symbol, BaseTask | undefined>)[TASK] : undefined;
}
