import type { TaskStateName } from '../machines/task.machine.js';
import type { ErrorData } from '../actors/wire-codec.mjs';

/** What `await task` / a future resolves to: a plain, non-thenable snapshot. */
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

export type TaskFunction = ((...args: any[]) => unknown) | ModuleFunctionRef;

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
