import { computeTaskSchema, validateTask } from './task-schemas.js';
import { BaseTask, runOf, uidOf } from './task-base.js';
import type { RetryPolicy } from '../machines/task-guards.js';
import type { ComputeTaskSpec, RankInfo } from './run/task-handle.js';
import { refusePythonKeys } from './python-keys.js';
import type { LocalTaskOptions, RetryOptions, TaskFunction, TaskResult } from './task-types.js';

export interface ComputeTaskOptions {
  executable?: string;
  /** a task or future here stands for its value as a string (stdout trimmed of its final newline) */
  arguments?: Array<string | PromiseLike<TaskResult>>;
  function?: TaskFunction;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  uid?: string;
  backend?: string;
  captureStdio?: boolean;
  inputFiles?: string[];
  outputFiles?: string[];
  taskBackendSpecificKwargs?: LocalTaskOptions & Record<string, unknown>;
  /** tasks or futures (from submitTasks) to wait for; tasks and futures in `args` / `kwargs` values count too */
  dependsOn?: Array<PromiseLike<TaskResult>>;
  retries?: number | RetryOptions;
  [extra: string]: unknown;
}

const KNOWN = new Set(['executable', 'arguments', 'function', 'args', 'kwargs', 'uid', 'backend', 'captureStdio', 'inputFiles', 'outputFiles', 'taskBackendSpecificKwargs', 'dependsOn', 'retries']);

/**
 * A function or executable to run. Exactly one of `executable` / `function`.
 *
 * @example
 * const t = new ComputeTask({ function: (n: number) => n * n, args: [7] });
 * const e = new ComputeTask({ executable: '/bin/echo', arguments: ['hi'] });
 */
export class ComputeTask extends BaseTask {
  readonly kind = 'compute' as const;
  readonly executable: string | undefined;
  /**
   * Strings as the backend gets them. Until the task starts, an entry given as a task or future is
   * still that task or future (see docs/task-graph.md); it is replaced by its value at start.
   */
  readonly arguments: string[];
  readonly function: TaskFunction | undefined;
  readonly args: unknown[];
  readonly kwargs: Record<string, unknown> | undefined;
  readonly captureStdio: boolean;
  readonly inputFiles: string[];
  readonly outputFiles: string[];
  readonly taskBackendSpecificKwargs: LocalTaskOptions & Record<string, unknown>;

  /** Per-rank details of a parallel job (HpcExecutionBackend), in global rank order. */
  get ranks(): RankInfo[] | null {
    return runOf(this)?.ranks ?? null;
  }

  constructor(options: ComputeTaskOptions) {
    const uid = uidOf(options);
    refusePythonKeys(options, uid, KNOWN);
    const o = validateTask(computeTaskSchema, options ?? {}, uid) as ComputeTaskOptions & { retries?: RetryPolicy };
    super(uid, o.backend, { dependsOn: o.dependsOn, retries: o.retries });
    this.executable = o.executable;
    this.arguments = (o.arguments ?? []) as string[];
    this.function = o.function;
    this.args = o.args ?? [];
    this.kwargs = o.kwargs;
    this.captureStdio = o.captureStdio ?? false;
    this.inputFiles = o.inputFiles ?? [];
    this.outputFiles = o.outputFiles ?? [];
    this.taskBackendSpecificKwargs = o.taskBackendSpecificKwargs ?? {};
    this.keepExtras(o, KNOWN);
  }

  /** @internal */
  _spec(): ComputeTaskSpec {
    return Object.freeze({
      kind: 'compute',
      uid: this.uid,
      executable: this.executable,
      arguments: this.arguments,
      function: this.function,
      args: this.args,
      kwargs: this.kwargs,
      captureStdio: this.captureStdio,
      inputFiles: this.inputFiles,
      outputFiles: this.outputFiles,
      taskBackendSpecificKwargs: this.taskBackendSpecificKwargs,
    });
  }

  protected inputFields(): Record<string, unknown> {
    return {
      executable: this.executable,
      arguments: this.arguments,
      function: typeof this.function === 'function' ? this.function.name || '(anonymous)' : this.function,
      args: this.args,
      kwargs: this.kwargs,
      captureStdio: this.captureStdio,
    };
  }
}
