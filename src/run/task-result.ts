import type { TaskStateName } from '../../machines/task.machine.js';
import type { TaskResult } from '../task-types.js';
import type { TaskRun } from './task-run.js';

/**
 * What a DONE task's future resolves to: the plain `TaskResult` fields, plus a hidden reference to its
 * run, so that a settled future met later as a dependency names its task without any per-future
 * registration (see src/graph/futures.ts).
 */
export class SettledResult implements TaskResult {
  uid: string;
  state: TaskStateName;
  backend: string | null;
  stdout!: string | null;
  stderr: string | null;
  exitCode: number | null;
  returnValue: unknown;
  response: unknown;
  readonly #run: TaskRun;

  constructor(run: TaskRun) {
    this.uid = run.uid;
    this.state = run.state;
    this.backend = run.backend;
    // an object result's text (JSON) is made only if someone reads it
    if (run.stdoutDeferred) Object.defineProperty(this, 'stdout', { get: () => run.stdout, enumerable: true, configurable: true });
    else this.stdout = run.stdout;
    this.stderr = run.stderr;
    this.exitCode = run.exitCode;
    this.returnValue = run.returnValue;
    this.response = run.response;
    this.#run = run;
  }

  /** The run a future's result came from, or undefined for any other value. */
  static runOf(value: unknown): TaskRun | undefined {
    return typeof value === 'object' && value !== null && #run in value ? (value as SettledResult).#run : undefined;
  }
}

// the error a failed or canceled run's future rejected with → that run (set on the failure path only)
const failedRuns = new WeakMap<object, TaskRun>();

/** Remembers which run rejected its future with `error`. */
export function noteRejection(error: unknown, run: TaskRun): void {
  if (typeof error === 'object' && error !== null) failedRuns.set(error, run);
}

/** The run whose future rejected with `error`, or undefined. */
export function runOfRejection(error: unknown): TaskRun | undefined {
  return typeof error === 'object' && error !== null ? failedRuns.get(error) : undefined;
}
