import type { RetryPolicy } from '../../machines/task-guards.js';
import type { TaskStateName } from '../../machines/task.machine.js';
import type { LocalTaskOptions, TaskFunction } from '../task-types.js';

/** The inputs of a ComputeTask, as a backend sees them: frozen, never the user's object. */
export interface ComputeTaskSpec {
  readonly kind: 'compute';
  readonly uid: string;
  readonly executable: string | undefined;
  readonly arguments: readonly string[];
  readonly function: TaskFunction | undefined;
  readonly args: readonly unknown[];
  readonly kwargs: Readonly<Record<string, unknown>> | undefined;
  readonly captureStdio: boolean;
  readonly inputFiles: readonly string[];
  readonly outputFiles: readonly string[];
  readonly taskBackendSpecificKwargs: Readonly<LocalTaskOptions & Record<string, unknown>>;
}

/** The inputs of an AITask, as a backend sees them. */
export interface AITaskSpec {
  readonly kind: 'ai';
  readonly uid: string;
  readonly prompt: string | readonly string[];
  readonly model: string | undefined;
  readonly inferenceEndpoint: string | undefined;
  readonly systemPrompt: string | undefined;
  readonly temperature: number | undefined;
  readonly maxTokens: number | undefined;
  readonly topP: number | undefined;
  readonly topK: number | undefined;
  readonly stopSequences: readonly string[] | undefined;
}

export type TaskSpec = ComputeTaskSpec | AITaskSpec;

/** Per-rank details of a parallel job, in global rank order. */
export interface RankInfo {
  rank: number;
  hostname: string;
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** What a run produced when it succeeded. */
export interface RunResult {
  returnValue?: unknown;
  response?: unknown;
  exitCode?: number | null;
  stdout?: string | null;
  stderr?: string | null;
  ranks?: RankInfo[] | null;
}

/** Output a failed run still leaves on the task. */
export interface FailureDetails {
  exitCode?: number | null;
  stdout?: string | null;
  stderr?: string | null;
  ranks?: RankInfo[] | null;
  /** the failure is a timeout (the chart's TIMEOUT) */
  timedOut?: boolean;
  /** the worker, process, node or backend failed, not the task (retried under `retries: { on: 'infrastructure' }`) */
  infrastructure?: boolean;
}

/** One shape for every way a run ends (what `run()` may resolve to). */
export type Outcome = ({ status: 'done' } & RunResult) | ({ status: 'failed'; error: Error } & FailureDetails) | { status: 'canceled' };

/**
 * A backend's view of one task run: the task's uid and frozen inputs, where its files go, an abort
 * signal, and the verbs that move it through the task chart. The session owns the record behind it;
 * the backend never touches the user's task object.
 *
 * @example
 * protected async run(handle: TaskHandle<ComputeTaskSpec>): Promise<Outcome> {
 *   handle.start();
 *   const value = await work(handle.spec.args, handle.signal);
 *   return { status: 'done', returnValue: value };
 * }
 */
export interface TaskHandle<S extends TaskSpec = TaskSpec> {
  readonly uid: string;
  readonly spec: S;
  /** `<workDir>/<session uid>`: where the task's files go */
  readonly sessionDir: string;
  /** the backend's own data for this run (a pool entry, an allocation, …); the runtime never reads it */
  slot: unknown;
  /** the task's current state */
  readonly state: TaskStateName;
  /** 1 for the first run; counts runs */
  readonly attempt: number;
  /** the task's retry policy, or null (a backend that retries on its own leaves retries to this) */
  readonly retries: RetryPolicy | null;
  /** true once the task is canceled or its backend shuts down */
  readonly aborted: boolean;
  /**
   * Aborts when the task is canceled or its backend shuts down. Made on first read (an AbortSignal
   * costs ~5 µs, more than a whole inline function task): hot paths use `onAbort` instead.
   */
  readonly signal: AbortSignal;
  /** Calls `listener` once when the run is aborted (at once if it already is). */
  onAbort(listener: (handle: TaskHandle<S>) => void): void;
  /** QUEUED → RUNNING */
  start(): void;
  /** RUNNING → QUEUED: an innocent task handed back (its worker died under another task) */
  requeue(): void;
  /** → DONE */
  complete(result?: RunResult): void;
  /** → FAILED (or TIMEOUT when `details.timedOut`) */
  fail(error: Error, details?: FailureDetails): void;
  /** → CANCELED: what ran it is stopped */
  canceled(): void;
  /** Applies an outcome: `complete`, `fail` or `canceled`. */
  settle(outcome: Outcome): void;
}
