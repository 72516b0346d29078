import type { ErrorData, FunctionWire } from '../../actors/codec/wire-codec.mjs';

/** Resources a task asks for or a worker offers, e.g. { GPU: 1, CPU: 4 }. */
export type Resources = Record<string, number>;

/** One task as a job carries it: everything needed to rebuild the ComputeTask on a worker. */
export interface TaskData {
  uid: string;
  executable?: string;
  arguments?: string[];
  /** `wire`: the function with its captured values (JSON-safe, checked at submit) */
  fn?: { source: string; wire?: FunctionWire } | { module: string; export?: string };
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  options?: { shell?: boolean | string; cwd?: string; env?: Record<string, string>; timeout?: number };
  /**
   * the host retries the task if its worker is lost (its `retries` allow one more attempt): when the
   * job runs again after a worker died under it, the task is reported `lost`, not run again here
   */
  hostRetries?: boolean;
}

/**
 * A job: one or more tasks of one resource class. Large batches travel several tasks per job (a
 * BullMQ job costs a handful of Redis round trips; a task in a chunk costs none of its own).
 */
export interface JobData {
  tasks: TaskData[];
  resources: Resources;
}

/** How one task ended on the worker. */
export interface TaskOutcome {
  uid: string;
  state: 'DONE' | 'FAILED' | 'CANCELED';
  returnValue?: unknown;
  stdout?: string | null;
  stderr?: string | null;
  exitCode?: number | null;
  error?: ErrorData & { exitCode?: number | null; stderr?: string | null; signal?: string | null };
  /** FAILED because its worker was lost (an infrastructure failure, retried by the host), not by itself */
  lost?: boolean;
}

/** What a job returns: every task's outcome (a task's failure does not fail its job). */
export interface JobOutcome {
  outcomes: TaskOutcome[];
}

/** The queue a task goes to: one per resource class, so workers can take only what they can run. */
export function classKey(resources: Resources): string {
  const parts = Object.entries(resources)
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => a.localeCompare(b));
  return parts.length ? parts.map(([k, n]) => `${k}=${n}`).join(',') : 'any';
}

export function fits(need: Resources, offer: Resources): boolean {
  return Object.entries(need).every(([k, n]) => n <= 0 || (offer[k] ?? 0) >= n);
}

/** "GPU=1,CPU=4" → { GPU: 1, CPU: 4 } */
export function parseResources(text: string | undefined): Resources {
  const out: Resources = {};
  for (const part of (text ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [k, v] = part.split('=');
    const n = Number(v);
    if (!k || !Number.isFinite(n) || n < 0) throw new Error(`bad resource "${part}" (want NAME=number)`);
    out[k] = n;
  }
  return out;
}

/** Redis keys and channels of one backend namespace. */
export function keys(prefix: string) {
  return {
    queue: (cls: string) => `${prefix}.${cls.replace(/[^A-Za-z0-9_=-]/g, '_')}`,
    classes: `${prefix}:classes`,
    workers: `${prefix}:workers`,
    heartbeat: (id: string) => `${prefix}:hb:${id}`,
    cancel: `${prefix}:cancel`,
  };
}
