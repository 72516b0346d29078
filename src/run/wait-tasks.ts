import type { InspectionEvent } from 'xstate';
import { createActor } from 'xstate';
import { TERMINAL_STATES } from '../../machines/task.machine.js';
import { waitMachine } from '../../machines/wait.machine.js';
import { SessionError, TimeoutError } from '../errors.js';
import { runOf, type BaseTask } from '../task-base.js';

export interface WaitOptions {
  /** ms */
  timeout?: number;
  signal?: AbortSignal;
  /** Reject at the first failed task instead of collecting all (asyncio.gather without return_exceptions). */
  failFast?: boolean;
}

/** Durations are non-negative numbers of ms. */
function checkWaitOptions(options: WaitOptions): void {
  if (options === null || typeof options !== 'object') throw new SessionError('waitTasks options must be an object, e.g. { timeout: 30_000 }');
  const t = options.timeout;
  if (t !== undefined && (typeof t !== 'number' || Number.isNaN(t) || t < 0)) {
    throw new SessionError(`waitTasks option "timeout" must be a non-negative number of ms; got ${JSON.stringify(t)}`);
  }
}

/**
 * Waits until every task is terminal. Never rejects for task failure (unless `failFast`);
 * rejects TimeoutError at the deadline without disturbing the tasks.
 */
export function waitTasks<T extends BaseTask>(tasks: readonly T[], options: WaitOptions, inspect: ((e: InspectionEvent) => void) | undefined): Promise<T[]> {
  try {
    checkWaitOptions(options);
  } catch (err) {
    return Promise.reject(err);
  }
  const list = [...tasks];
  for (const t of list) {
    if (!runOf(t) && t.state === 'NEW') return Promise.reject(new SessionError(`Task ${t.uid} has no bound future. Has it been submitted to a Session?`));
  }
  const pending = list.filter((t) => !TERMINAL_STATES.has(t.state));
  const { timeout, signal, failFast = false } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<T[]>((resolve, reject) => {
    const wait = createActor(waitMachine, {
      input: { total: pending.length, timeout: timeout ?? null, mode: failFast ? 'failFast' : 'collectAll' },
      inspect,
    });
    let remaining = pending.length;
    let firstFailure: unknown;
    // after the wait has ended (timed out, aborted) late completions have nothing to tell it
    const tell = (event: { type: 'ALL_SETTLED' | 'TASK_FAILED' | 'ABORT' }) => {
      if (wait.getSnapshot().status === 'active') wait.send(event);
    };
    const onAbort = () => tell({ type: 'ABORT' });
    wait.subscribe({
      next: (snap) => {
        if (snap.status !== 'done') return;
        signal?.removeEventListener('abort', onAbort);
        switch (snap.value) {
          case 'settled':
            return resolve(list);
          case 'failed':
            return reject(firstFailure);
          case 'aborted':
            return reject(signal?.reason);
          case 'timedOut':
            return reject(new TimeoutError(`Timeout after ${timeout} ms: ${list.length - remaining}/${list.length} tasks completed`));
        }
      },
      error: reject,
    });
    wait.start();
    if (wait.getSnapshot().status === 'done') return;
    signal?.addEventListener('abort', onAbort, { once: true });
    const settled = () => {
      if (--remaining === 0) tell({ type: 'ALL_SETTLED' });
    };
    const failed = (err: unknown) => {
      if (firstFailure === undefined) {
        firstFailure = err;
        tell({ type: 'TASK_FAILED' });
      }
      settled();
    };
    for (const t of pending) runOf(t)!.future.then(settled, failFast ? failed : settled);
  });
}
