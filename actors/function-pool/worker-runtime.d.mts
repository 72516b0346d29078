import type { ErrorData, FunctionWire } from '../codec/wire-codec.mjs';

// The messages the pool (worker-pool.ts) and its workers (thread-worker.mjs, process-worker.mjs)
// exchange: batches in, arrays of results out.

/** A function a batch defines: source text (`wire` with captured values) or a module export. `transient`: compiled for its batch only (a closure ships its values with every batch). */
export interface FunctionDef {
  id: number;
  source?: string;
  wire?: FunctionWire;
  transient?: boolean;
  module?: string;
  export?: string;
}
/** One call of a defined function. */
export interface Job {
  id: number;
  fn: number;
  args: unknown[];
  /** some top-level args (and, with `kw`, values of the trailing kwargs object) are `SharedValue`s */
  shared?: true;
  kw?: true;
}
/** A large value serialised once (v8) into shared memory: what a result or a dependency's value travels as on threads. */
export interface SharedValue {
  __rhapsodySharedValue: SharedArrayBuffer;
}
/** What a job ended with: its return value, or what it threw as error data. */
export type JobResult = { id: number; ok: true; value: unknown } | { id: number; ok: true; shared: SharedArrayBuffer } | { id: number; ok: false; error: ErrorData };
/** One message from the pool to a worker. */
export interface Batch {
  fns: FunctionDef[];
  jobs: Job[];
}

export function compile(wire: string | FunctionWire): (...args: unknown[]) => unknown;
export function errorData(err: unknown, fromSource: boolean): ErrorData;
/** The worker side: `post` sends an array of results to the host. */
export function createRuntime(post: (results: JobResult[]) => void, options?: { share?: boolean }): { submit(batch: Batch): void };
