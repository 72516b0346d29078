import type { ComputeTaskSpec } from '../../src/run/task-handle.js';

/** Arguments a function task is called with: `args`, then `kwargs` as one trailing argument. */
export function callArguments(spec: ComputeTaskSpec): unknown[] {
  return spec.kwargs === undefined ? (spec.args as unknown[]) : [...spec.args, spec.kwargs];
}
