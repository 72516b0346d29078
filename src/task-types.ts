import type { TaskStateName } from '../machines/task.machine.js';
import type { ErrorData } from '../actors/codec/wire-codec.mjs';

/** What `await task` / a future resolves to: a plain, non-thenable snapshot. */
/** The plain result of anything that carries a task's result fields (a task, its run record). */
export function resultOf(s: TaskResult): TaskResult {
  return { uid: s.uid, state: s.state, backend: s.backend, stdout: s.stdout, stderr: s.stderr, exitCode: s.exitCode, returnValue: s.returnValue, response: s.response };
}

export interface TaskResult {
  uid: string;
  state: TaskStateName;
  backend: string | null;
  stdout: string | null;
  stderr: string | null;
  exitCode: number | null;
  returnValue: unknown;
  response: unknown;
}

/** A plain snapshot of a task (`task.toJSON()`, stream items). */
export interface TaskSnapshot extends TaskResult {
  kind: 'compute' | 'ai';
  exception: ErrorData | null;
  [field: string]: unknown;
}

/** One task state change on `session.events$`. */
export interface TaskEvent {
  uid: string;
  state: TaskStateName;
  previousState: TaskStateName;
  backend: string | null;
  /** ms since the epoch */
  timestamp: number;
  task: TaskSnapshot;
}

/** A function given by module reference: `{ module: '/abs/path.mjs', export: 'fn' }`. */
export interface ModuleFunctionRef {
  module: string;
  export?: string;
}

/** A Python callable by reference, run natively by DaskExecutionBackend: `{ python: 'pkg.module:fn' }`. */
export interface PythonFunctionRef {
  python: string;
}

export type TaskFunction = ((...args: any[]) => unknown) | ModuleFunctionRef | PythonFunctionRef;

/** Options the local backend reads from `taskBackendSpecificKwargs`. */
export interface LocalTaskOptions {
  shell?: boolean | string;
  cwd?: string;
  env?: Record<string, string>;
  /** ms */
  timeout?: number;
  /** leave background processes (`cmd &`) of its process group running when it exits (default: killed) */
  keepProcessGroup?: boolean;
  [key: string]: unknown;
}

/** `retries` as an object; a number n is `{ max: n }`. */
export interface RetryOptions {
  /** retries after the first run */
  max: number;
  /** ms before the first retry (default 1000) */
  delay?: number;
  /** each further retry waits `factor` times longer (default 2) */
  factor?: number;
  /** 'infrastructure' (default): worker/process/node/backend failures only; 'any': task failures too */
  on?: 'infrastructure' | 'any';
}

/** An AITask prompt computed from the results of its `dependsOn`, in that order. */
export type PromptFunction = (deps: TaskResult[]) => string | string[];
