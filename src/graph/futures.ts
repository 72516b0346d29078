import type { BaseTask } from '../task-base.js';

/**
 * Which task a future returned by submitTasks stands for, known once that future has been met as a
 * dependency (the session resolves it at submit, see `resolveFutures`). Futures are not registered
 * when they are made: a WeakMap entry (or an own property) per promise costs every task ~2 µs and
 * GC time (measured on the 100k inline flood), while few futures are ever used as dependencies.
 */
const taskOf = new WeakMap<object, BaseTask>();

/** Records that `future` is the future of `task`. */
export function registerFuture(future: PromiseLike<unknown>, task: BaseTask): void {
  taskOf.set(future, task);
}

/** The task a future stands for, or undefined for any other value (or a future not yet met). */
export function taskOfFuture(value: unknown): BaseTask | undefined {
  return typeof value === 'object' && value !== null ? taskOf.get(value) : undefined;
}

/** A value that might be a future: an object with a `then` method that is not a task. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/** A settled future's task, read from what it settled with (its result, or its run's error); else undefined. */
export type SettledLookup = (outcome: { value: unknown } | { error: unknown }) => BaseTask | undefined;

/**
 * Resolves thenables met as dependencies to their tasks: a live run's future (`liveTaskOf`), or a
 * settled one, read from its settlement within a turn of the event loop. A thenable that is neither
 * stays unknown (a plain value in `args`, a SessionError in `dependsOn`).
 */
export async function resolveFutures(thenables: readonly PromiseLike<unknown>[], liveTaskOf: (p: PromiseLike<unknown>) => BaseTask | undefined, settledTaskOf: SettledLookup): Promise<void> {
  const waiting: Array<Promise<void>> = [];
  for (const p of thenables) {
    if (taskOf.has(p)) continue;
    const live = liveTaskOf(p);
    if (live !== undefined) {
      taskOf.set(p, live);
      continue;
    }
    waiting.push(
      settledWithin(p).then((outcome) => {
        const task = outcome === null ? undefined : settledTaskOf(outcome);
        if (task !== undefined) taskOf.set(p, task);
      }),
    );
  }
  await Promise.all(waiting);
}

// a settled promise's reactions run in the microtask queue, before the next macrotask
function settledWithin(p: PromiseLike<unknown>): Promise<{ value: unknown } | { error: unknown } | null> {
  return new Promise((resolve) => {
    const timer = setImmediate(() => resolve(null));
    try {
      p.then(
        (value) => {
          clearImmediate(timer);
          resolve({ value });
        },
        (error) => {
          clearImmediate(timer);
          resolve({ error });
        },
      );
    } catch {
      clearImmediate(timer);
      resolve(null);
    }
  });
}
