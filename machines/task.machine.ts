import { assign, setup } from 'xstate';
import { TASK_UPDATES } from './task-actions.js';
import { TASK_DELAYS, TASK_GUARDS, type PendingReason, type RetryPolicy } from './task-guards.js';

/**
 * The task lifecycle states (the original's TaskState names).
 *
 * @example
 * await session.waitTasks(tasks);
 * const failed = tasks.filter((t) => t.state === TaskState.FAILED);
 */
export const TaskState = {
  NEW: 'NEW',
  SUBMITTED: 'SUBMITTED',
  QUEUED: 'QUEUED',
  RUNNING: 'RUNNING',
  DONE: 'DONE',
  FAILED: 'FAILED',
  CANCELED: 'CANCELED',
} as const;
export type TaskStateName = (typeof TaskState)[keyof typeof TaskState];

/**
 * The states a task never leaves.
 *
 * @example
 * import { TERMINAL_STATES } from 'rhapsody/machines';
 * const settled = tasks.filter((t) => TERMINAL_STATES.has(t.state));
 */
export const TERMINAL_STATES: ReadonlySet<TaskStateName> = new Set(['DONE', 'FAILED', 'CANCELED']);

/** Data the chart keeps about one task (the inspector shows it). */
export interface TaskMachineContext {
  uid: string;
  backend: string | null;
  exitCode: number | null;
  returnValue: unknown;
  response: unknown;
  stdout: string | null;
  stderr: string | null;
  error: { name: string; message: string } | null;
  /** 'dependencies' while a SUBMITTED task waits for them; 'retry' while a QUEUED task waits its retry delay */
  pendingReason: PendingReason;
  /** runs started so far (a retry is one more) */
  attempts: number;
  retries: RetryPolicy | null;
}

/**
 * `attempt` on a result event names the run it belongs to (1, 2, …); an event of an earlier attempt is
 * ignored. `infrastructure` marks a worker/process/node/backend failure (retried under `on: 'infrastructure'`).
 */
export type TaskMachineEvent =
  | { type: 'SUBMIT'; backend: string; dependencies?: boolean }
  | { type: 'DEPS_READY' }
  | { type: 'DEPENDENCY_FAILED'; error: { name: string; message: string }; dependencyUid: string }
  | { type: 'QUEUE' }
  | { type: 'START' }
  | { type: 'COMPLETE'; exitCode?: number | null; returnValue?: unknown; response?: unknown; stdout?: string | null; stderr?: string | null; attempt?: number }
  | { type: 'FAIL'; error: { name: string; message: string }; exitCode?: number | null; stdout?: string | null; stderr?: string | null; attempt?: number; infrastructure?: boolean }
  | { type: 'TIMEOUT'; error: { name: string; message: string }; attempt?: number }
  | { type: 'CANCEL' };

/** The event a QUEUED task's retry delay raises when it runs out (XState's name for it). */
export const RETRY_DELAY_EVENT = 'xstate.after.retryDelay.task.QUEUED';

export type TaskEventType = TaskMachineEvent['type'];

/**
 * The task lifecycle chart: NEW → SUBMITTED → QUEUED → RUNNING → DONE | FAILED | CANCELED.
 * CANCEL is accepted from every non-terminal state; FAIL from every submitted state (a backend can
 * reject before running); TIMEOUT only while running.
 * Task graph: a task submitted with dependencies waits in SUBMITTED (`pendingReason: 'dependencies'`)
 * until DEPS_READY, or ends FAILED on DEPENDENCY_FAILED without running. Retries: a failure of the
 * current attempt that the policy retries goes RUNNING → QUEUED, where the task waits the chart's
 * `retryDelay` (`pendingReason: 'retry'`) before it may start again. Guards (machines/task-guards.ts)
 * on one event are mutually exclusive; the unguarded-path branch comes first. The runtime drives plain task records through
 * a table derived from this chart (see `src/internal/lifecycle.ts`) and materialises an actor of it
 * when a task is inspected, so the chart is the one source of truth for legal transitions.
 *
 * @example
 * import { createActor } from 'xstate';
 * const actor = createActor(taskMachine, { input: { uid: 't1' } }).start();
 * actor.send({ type: 'SUBMIT', backend: 'local' });
 * actor.send({ type: 'START' });
 * actor.send({ type: 'COMPLETE', exitCode: 0 });
 * actor.getSnapshot().value; // 'DONE'
 */
export const taskMachine = setup({
  types: {
    context: {} as TaskMachineContext,
    events: {} as TaskMachineEvent,
    input: {} as { uid: string; backend?: string | null; retries?: RetryPolicy | null },
  },
  guards: {
    withDependencies: ({ context, event }) => TASK_GUARDS.withDependencies(context, event),
    withoutDependencies: ({ context, event }) => TASK_GUARDS.withoutDependencies(context, event),
    notPending: ({ context, event }) => TASK_GUARDS.notPending(context, event),
    waitingForDependencies: ({ context, event }) => TASK_GUARDS.waitingForDependencies(context, event),
    waitingForRetry: ({ context, event }) => TASK_GUARDS.waitingForRetry(context, event),
    currentAttempt: ({ context, event }) => TASK_GUARDS.currentAttempt(context, event),
    retryable: ({ context, event }) => TASK_GUARDS.retryable(context, event),
    lastFailure: ({ context, event }) => TASK_GUARDS.lastFailure(context, event),
  },
  delays: {
    retryDelay: ({ context }) => TASK_DELAYS.retryDelay(context),
  },
  actions: {
    recordBackend: assign(({ context, event }) => TASK_UPDATES.recordBackend!(context, event)),
    recordResult: assign(({ context, event }) => TASK_UPDATES.recordResult!(context, event)),
    recordFailure: assign(({ context, event }) => TASK_UPDATES.recordFailure!(context, event)),
    recordCancel: assign(({ context, event }) => TASK_UPDATES.recordCancel!(context, event)),
    awaitDependencies: assign(({ context, event }) => TASK_UPDATES.awaitDependencies!(context, event)),
    dependenciesReady: assign(({ context, event }) => TASK_UPDATES.dependenciesReady!(context, event)),
    countAttempt: assign(({ context, event }) => TASK_UPDATES.countAttempt!(context, event)),
    recordRetry: assign(({ context, event }) => TASK_UPDATES.recordRetry!(context, event)),
    retryReady: assign(({ context, event }) => TASK_UPDATES.retryReady!(context, event)),
  },
}).createMachine({
  id: 'task',
  initial: 'NEW',
  context: ({ input }) => ({
    uid: input.uid,
    backend: input.backend ?? null,
    exitCode: null,
    returnValue: undefined,
    response: undefined,
    stdout: null,
    stderr: null,
    error: null,
    pendingReason: null,
    attempts: 0,
    retries: input.retries ?? null,
  }),
  states: {
    NEW: {
      on: {
        SUBMIT: [
          { guard: 'withoutDependencies', target: 'SUBMITTED', actions: 'recordBackend' },
          { guard: 'withDependencies', target: 'SUBMITTED', actions: ['recordBackend', 'awaitDependencies'] },
        ],
        CANCEL: { target: 'CANCELED', actions: 'recordCancel' },
      },
    },
    SUBMITTED: {
      on: {
        QUEUE: { guard: 'notPending', target: 'QUEUED' },
        START: { guard: 'notPending', target: 'RUNNING', actions: 'countAttempt' },
        DEPS_READY: { guard: 'waitingForDependencies', actions: 'dependenciesReady' },
        DEPENDENCY_FAILED: { guard: 'waitingForDependencies', target: 'FAILED', actions: 'recordFailure' },
        FAIL: { target: 'FAILED', actions: 'recordFailure' },
        CANCEL: { target: 'CANCELED', actions: 'recordCancel' },
      },
    },
    QUEUED: {
      after: {
        retryDelay: { guard: 'waitingForRetry', actions: 'retryReady' },
      },
      on: {
        START: { guard: 'notPending', target: 'RUNNING', actions: 'countAttempt' },
        FAIL: { target: 'FAILED', actions: 'recordFailure' },
        CANCEL: { target: 'CANCELED', actions: 'recordCancel' },
      },
    },
    RUNNING: {
      on: {
        COMPLETE: { guard: 'currentAttempt', target: 'DONE', actions: 'recordResult' },
        FAIL: [
          { guard: 'lastFailure', target: 'FAILED', actions: 'recordFailure' },
          { guard: 'retryable', target: 'QUEUED', actions: 'recordRetry' },
        ],
        TIMEOUT: [
          { guard: 'lastFailure', target: 'FAILED', actions: 'recordFailure' },
          { guard: 'retryable', target: 'QUEUED', actions: 'recordRetry' },
        ],
        // a worker that died under innocent tasks hands them back to the queue
        QUEUE: { target: 'QUEUED' },
        CANCEL: { target: 'CANCELED', actions: 'recordCancel' },
      },
    },
    DONE: { type: 'final' },
    FAILED: { type: 'final' },
    CANCELED: { type: 'final' },
  },
});
