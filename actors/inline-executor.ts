import type { ComputeTask } from '../src/compute-task.js';
import { TaskExecutionError } from '../src/errors.js';
import { toError } from '../src/internal/remote-error.js';
import type { ModuleFunctionRef } from '../src/task-types.js';
import { callArguments, type ExecutionSink } from './execution-sink.js';
import { moduleSpecifier } from './worker-pool.js';

type Fn = (...args: unknown[]) => unknown;
interface InlineEntry { timer: NodeJS.Timeout | null; abandoned: boolean }

/** How long one drain may hold the event loop before yielding to I/O. */
const SLICE_MS = 8;

/**
 * Runs functions on the main event loop. Sync functions run in slices that yield to I/O; async
 * ones run concurrently. Nothing here can stop running JavaScript: a timeout or cancel ends the
 * task and its late result is ignored (use `threads` or `processes` to kill for real).
 */
export class InlineExecutor {
  private queue: ComputeTask[] = [];
  private head = 0;
  private scheduled = false;
  private readonly modules = new Map<string, Promise<Fn>>();

  constructor(private readonly sink: ExecutionSink) {}

  enqueue(task: ComputeTask): void {
    this.queue.push(task);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.drain);
    }
  }

  /** Abandons a running async task (its result will be ignored). */
  kill(task: ComputeTask): void {
    const entry = task._exec as InlineEntry | undefined;
    if (!entry) return;
    entry.abandoned = true;
    if (entry.timer) clearTimeout(entry.timer);
  }

  private readonly drain = (): void => {
    this.scheduled = false;
    const deadline = performance.now() + SLICE_MS;
    const q = this.queue;
    while (this.head < q.length) {
      const t = q[this.head]!;
      q[this.head++] = undefined as unknown as ComputeTask;
      if (t.state === 'QUEUED') this.run(t);
      if ((this.head & 255) === 0 && performance.now() > deadline) break;
    }
    if (this.head < q.length) {
      this.scheduled = true;
      setImmediate(this.drain);
    } else {
      this.queue = [];
      this.head = 0;
    }
  };

  private run(task: ComputeTask): void {
    const fn = task.function!;
    if (typeof fn !== 'function') {
      this.sink.started(task);
      this.loadModule(fn as ModuleFunctionRef).then(
        (f) => this.call(task, f),
        (err) => this.sink.failed(task, toError(err)),
      );
      return;
    }
    this.sink.started(task);
    this.call(task, fn as Fn);
  }

  private call(task: ComputeTask, fn: Fn): void {
    let value: unknown;
    try {
      value = fn(...callArguments(task));
    } catch (err) {
      this.sink.failed(task, toError(err));
      return;
    }
    if (value === null || typeof value !== 'object' || typeof (value as PromiseLike<unknown>).then !== 'function') {
      this.sink.completed(task, { returnValue: value });
      return;
    }
    const entry: InlineEntry = { timer: null, abandoned: false };
    task._exec = entry;
    const timeout = task.taskBackendSpecificKwargs.timeout;
    if (timeout !== undefined) {
      entry.timer = setTimeout(() => {
        entry.abandoned = true;
        this.sink.timedOut(task, new TaskExecutionError(`Task ${task.uid} timed out after ${timeout} ms (inline: its code was not stopped)`, { taskUid: task.uid }));
      }, timeout);
    }
    (value as PromiseLike<unknown>).then(
      (v) => {
        if (entry.abandoned) return;
        if (entry.timer) clearTimeout(entry.timer);
        this.sink.completed(task, { returnValue: v });
      },
      (err) => {
        if (entry.abandoned) return;
        if (entry.timer) clearTimeout(entry.timer);
        this.sink.failed(task, toError(err));
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
