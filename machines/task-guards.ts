import type { TaskMachineEvent } from './task.machine.js';

/** A task's retry policy, normalised (`retries: n` is `{ max: n }` with the defaults). */
export interface RetryPolicy {
  /** retries after the first run (attempts = 1 + max at most) */
  max: number;
  /** ms before the first retry */
  delay: number;
  /** each further retry waits `factor` times longer */
  factor: number;
  /** 'infrastructure': only worker/process/node/backend failures; 'any': task failures too */
  on: 'infrastructure' | 'any';
}

/** Why a submitted task does not move on: its dependencies are not DONE, or it waits its retry delay. */
export type PendingReason = 'dependencies' | 'retry' | null;

/** What the guards and delays read: the chart's context and the runtime's task record both have it. */
export interface GuardContext {
  pendingReason: PendingReason;
  attempts: number;
  retries: RetryPolicy | null;
}

export type TaskGuard = (context: GuardContext, event: TaskMachineEvent) => boolean;

/** A result of an earlier attempt carries a smaller `attempt` and is ignored; no `attempt` means the current one. */
const currentAttempt: TaskGuard = (c, e) => {
  const attempt = (e as { attempt?: number }).attempt;
  return attempt === undefined || attempt === c.attempts;
};

/** A failure of the current attempt that the policy retries: attempts remain and the failure qualifies. */
const retryable: TaskGuard = (c, e) => {
  const r = c.retries;
  if (r === null || c.attempts > r.max || !currentAttempt(c, e)) return false;
  return r.on === 'any' || (e.type === 'FAIL' && e.infrastructure === true);
};

/**
 * The task chart's guards as pure functions: the chart's `setup({ guards })` and the runtime's table
 * driver both call these, so a guarded transition is decided once, the same way, for both.
 * Guards on one event are mutually exclusive, so their order never matters.
 */
const guards = {
  withDependencies: (_c, e) => e.type === 'SUBMIT' && e.dependencies === true,
  withoutDependencies: (_c, e) => !(e.type === 'SUBMIT' && e.dependencies === true),
  notPending: (c) => c.pendingReason === null,
  waitingForDependencies: (c) => c.pendingReason === 'dependencies',
  waitingForRetry: (c) => c.pendingReason === 'retry',
  currentAttempt,
  retryable,
  lastFailure: (c, e) => currentAttempt(c, e) && !retryable(c, e),
} satisfies Record<string, TaskGuard>;

export type TaskGuardName = keyof typeof guards;
export const TASK_GUARDS: Readonly<Record<TaskGuardName, TaskGuard>> = guards;

/** ms before retry number `attempts` (the failed attempt's number): delay · factor^(attempts − 1). */
export function retryDelayMs(policy: RetryPolicy | null, attempts: number): number {
  if (policy === null) return 0;
  return policy.delay * policy.factor ** Math.max(0, attempts - 1);
}

/** The chart's named delays as pure functions of the context; the table driver runs their timers. */
export const TASK_DELAYS = {
  retryDelay: (c: GuardContext) => retryDelayMs(c.retries, c.attempts),
} satisfies Record<string, (context: GuardContext) => number>;

export type TaskDelayName = keyof typeof TASK_DELAYS;
