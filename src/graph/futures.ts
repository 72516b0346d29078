import type { BaseTask } from '../task-base.js';

/**
 * Maps each future returned by submitTasks back to its task, so that a future given as a dependency
 * names a task. A WeakMap, not a property on the promise: a promise with an own property leaves V8's
 * promise fast paths (measured: ~10% on the 100k inline flood). Nothing is kept once the future is
 * dropped. The session fills it at submit.
 */
const taskOf = new WeakMap<object, BaseTask>();

export function registerFuture(future: Promise<unknown>, task: BaseTask): void {
  taskOf.set(future, task);
}

/** The task a future was returned for, or undefined for any other value. */
export function taskOfFuture(value: unknown): BaseTask | undefined {
  return typeof value === 'object' && value !== null ? taskOf.get(value) : undefined;
}
