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
}
/** What a job ended with: its return value, or what it threw as error data. */
export type JobResult = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: ErrorData };
/** One message from the pool to a worker. */
export interface Batch {
  fns: FunctionDef[];
  jobs: Job[];
}

export function compile(wire: string | FunctionWire): (...args: unknown[]) => unknown;
export function errorData(err: unknown, fromSource: boolean): ErrorData;
/** The worker side: `post` sends an array of results to the host. */
export function createRuntime(post: (results: JobResult[]) => void): { submit(batch: Batch): void };
