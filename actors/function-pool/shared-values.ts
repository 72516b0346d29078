import { deserialize } from 'node:v8';
import type { ComputeTaskSpec } from '../../src/run/task-handle.js';
import type { Job, SharedValue } from './worker-runtime.mjs';

// A large result comes back from a worker thread serialised in shared memory (worker-runtime.mjs):
// the host reads it once for `returnValue` and keeps the bytes beside it while the value lives, so a
// dependent on a thread pool gets the bytes (shared, not copied) instead of the host serialising the
// value again. What the dependent reads is what the producer returned (a later change made to the
// value on the host does not travel).
const bytesOf = new WeakMap<object, SharedArrayBuffer>();

/** The value of a result sent as shared bytes (remembered with them). */
export function fromShared(bytes: SharedArrayBuffer): unknown {
  const value = deserialize(new Uint8Array(bytes));
  if (typeof value === 'object' && value !== null) bytesOf.set(value, bytes);
  return value;
}

function sharedForm(value: unknown): SharedValue | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const bytes = bytesOf.get(value);
  return bytes === undefined ? undefined : { __rhapsodySharedValue: bytes };
}

/** Sends values that came as shared bytes (top-level args, kwargs values) as those bytes. */
export function shareArguments(job: Job, spec: ComputeTaskSpec): void {
  let args: unknown[] | null = null;
  const n = spec.args.length;
  for (let i = 0; i < n; i++) {
    const shared = sharedForm(spec.args[i]);
    if (shared !== undefined) (args ??= [...job.args])[i] = shared;
  }
  const kwargs = spec.kwargs;
  if (kwargs !== undefined) {
    let kw: Record<string, unknown> | null = null;
    for (const key in kwargs) {
      const shared = sharedForm(kwargs[key]);
      if (shared !== undefined) (kw ??= { ...kwargs })[key] = shared;
    }
    if (kw !== null) {
      (args ??= [...job.args])[n] = kw;
      job.kw = true;
    }
  }
  if (args !== null) {
    job.args = args;
    job.shared = true;
  }
}
