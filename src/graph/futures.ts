import type { BaseTask } from '../task-base.js';

/**
 * Maps each future returned by submitTasks back to its task, so that a future given as a dependency
 * names a task. Weak: a future nobody holds any more costs nothing here. The session fills it at
 * submit (`registerFuture`); a task already knows its own future (`task._future`).
 */
const taskOf = new WeakMap<object, BaseTask>();

export function registerFuture(future: Promise<unknown>, task: BaseTask): void {
  taskOf.set(future, task);
}

/** The task a future was returned for, or undefined for any other value. */
export function taskOfFuture(value: unknown): BaseTask | undefined {
  return typeof value === 'object' && value !== null ? taskOf.get(value) : undefined;
}
