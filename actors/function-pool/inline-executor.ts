import { TaskExecutionError } from '../../src/errors.js';
import { toError } from '../codec/wire-codec.mjs';
import type { ComputeTaskSpec, TaskHandle } from '../../src/run/task-handle.js';
import type { ModuleFunctionRef } from '../../src/task-types.js';
import { callArguments } from './execution-sink.js';
import { moduleSpecifier } from './worker-pool.js';

type Fn = (...args: unknown[]) => unknown;
type Run = TaskHandle<ComputeTaskSpec>;

/**
 * Runs functions on the main event loop (the backend's run loop yields to I/O between slices).
 * Sync and async functions both work. Nothing here can stop running JavaScript: a timeout or
 * cancel ends the task and its late result is ignored (use `threads` or `processes` to kill for real).
 */
export class InlineExecutor {
  private readonly modules = new Map<string, Promise<Fn>>();

  run(h: Run): void {
    const fn = h.spec.function!;
    h.start();
    if (typeof fn !== 'function') {
      this.loadModule(fn as ModuleFunctionRef).then(
        (f) => this.call(h, f),
        (err) => h.fail(toError(err)),
      );
      return;
    }
    this.call(h, fn as Fn);
  }

  private call(h: Run, fn: Fn): void {
    if (h.state !== 'RUNNING') return;
    let value: unknown;
    try {
      value = fn(...callArguments(h.spec));
    } catch (err) {
      h.fail(toError(err));
      return;
    }
    if (value === null || typeof value !== 'object' || typeof (value as PromiseLike<unknown>).then !== 'function') {
      h.complete({ returnValue: value });
      return;
    }
    let abandoned = false;
    let timer: NodeJS.Timeout | null = null;
    // cancel abandons it: the late result is ignored
    h.onAbort(() => {
      abandoned = true;
      if (timer) clearTimeout(timer);
      h.canceled();
    });
    const timeout = h.spec.taskBackendSpecificKwargs.timeout;
    if (timeout !== undefined) {
      timer = setTimeout(() => {
        abandoned = true;
        h.fail(new TaskExecutionError(`Task ${h.uid} timed out after ${timeout} ms (inline: its code was not stopped)`, { taskUid: h.uid }), { timedOut: true });
      }, timeout);
    }
    (value as PromiseLike<unknown>).then(
      (v) => {
        if (abandoned) return;
        if (timer) clearTimeout(timer);
        h.complete({ returnValue: v });
      },
      (err) => {
        if (abandoned) return;
        if (timer) clearTimeout(timer);
        h.fail(toError(err));
      },
    );
  }

  private loadModule(ref: ModuleFunctionRef): Promise<Fn> {
    const key = `${ref.module}#${ref.export ?? 'default'}`;
    let p = this.modules.get(key);
    if (!p) {
      const name = ref.export ?? 'default';
      p = import(moduleSpecifier(ref.module)).then((m: Record<string, unknown>) => {
        const f = m[name];
        if (typeof f !== 'function') throw new TypeError(`module ${ref.module} has no function export "${name}"`);
        return f as Fn;
      });
      this.modules.set(key, p);
    }
    return p;
  }
}
