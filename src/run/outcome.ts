import { TaskExecutionError } from '../errors.js';

/** How a process (or a rank of a job) ended, as every launcher reports it. */
export interface ProcessEnd {
  exitCode: number | null;
  signal: string | null;
  stderr: string;
  /** why the runtime killed it: 'timeout' | 'canceled' | null */
  killed?: string | null;
  /** it could not be started (ENOENT, EACCES, …) */
  error?: string | null;
}

/** How much of stderr a failure message quotes. */
const STDERR_TAIL = 500;

/** How a failure message names what failed. */
export interface FailureLabel {
  /** after the task uid: "(/bin/false)", "rank 2 on node-0" */
  label?: string;
  /** the program, for "cannot run <program>: ENOENT" */
  program?: string;
  /** the timeout that was hit (ms) */
  timeoutMs?: number;
  cause?: unknown;
}

/**
 * The one message builder for a process that did not succeed: "Task t (what) exited with code 3:
 * <stderr tail>", "… was killed by SIGKILL", "… timed out after N ms; its process group was
 * killed", "Task t: cannot run <program>: ENOENT". Every backend that runs processes uses it.
 *
 * @example
 * if (end.exitCode !== 0) handle.fail(processFailure(handle.uid, end, { label: '(/bin/false)' }), { exitCode: end.exitCode });
 */
export function processFailure(taskUid: string, end: ProcessEnd, how: FailureLabel = {}): TaskExecutionError {
  const who = how.label ? `Task ${taskUid} ${how.label}` : `Task ${taskUid}`;
  let text: string;
  if (end.killed === 'timeout') text = `${who} timed out after ${how.timeoutMs ?? '?'} ms; its process group was killed`;
  else if (end.error) text = `${who}: cannot run ${how.program ?? 'it'}: ${end.error}`;
  else {
    const tail = end.stderr.trim().slice(-STDERR_TAIL);
    text = `${who} ${end.signal ? `was killed by ${end.signal}` : `exited with code ${end.exitCode}`}${tail ? `: ${tail}` : ''}`;
  }
  return new TaskExecutionError(text, { taskUid, exitCode: end.exitCode, stderr: end.stderr, signal: end.signal }, how.cause === undefined ? undefined : { cause: how.cause });
}

/**
 * Text form of a function's return value, as the original's `str(return_value)`.
 *
 * @example
 * stdoutOf({ a: 1 }); // '{"a":1}'
 * stdoutOf(42); // '42'
 * stdoutOf(undefined); // ''
 */
export function stdoutOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  if (value === null || typeof value !== 'object') return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}
