import { assign, setup } from 'xstate';
import { TASK_UPDATES } from './task-actions.js';

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
}

export type TaskMachineEvent =
  | { type: 'SUBMIT'; backend: string }
  | { type: 'QUEUE' }
  | { type: 'START' }
  | { type: 'COMPLETE'; exitCode?: number | null; returnValue?: unknown; response?: unknown; stdout?: string | null; stderr?: string | null }
  | { type: 'FAIL'; error: { name: string; message: string }; exitCode?: number | null; stdout?: string | null; stderr?: string | null }
  | { type: 'TIMEOUT'; error: { name: string; message: string } }
  | { type: 'CANCEL' };

export type TaskEventType = TaskMachineEvent['type'];

/**
 * The task lifecycle chart: NEW → SUBMITTED → QUEUED → RUNNING → DONE | FAILED | CANCELED.
 * CANCEL is accepted from every non-terminal state; FAIL from every submitted state (a backend can
 * reject before running); TIMEOUT only while running. The runtime drives plain task records through
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
    input: {} as { uid: string; backend?: string | null },
  },
  actions: {
    recordBackend: assign(({ context, event }) => TASK_UPDATES.recordBackend!(context, event)),
    recordResult: assign(({ context, event }) => TASK_UPDATES.recordResult!(context, event)),
    recordFailure: assign(({ context, event }) => TASK_UPDATES.recordFailure!(context, event)),
    recordCancel: assign(({ context, event }) => TASK_UPDATES.recordCancel!(context, event)),
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
  }),
  states: {
    NEW: {
      on: {
        SUBMIT: { target: 'SUBMITTED', actions: 'recordBackend' },
        CANCEL: { target: 'CANCELED', actions: 'recordCancel' },
      },
    },
    SUBMITTED: {
      on: {
        QUEUE: { target: 'QUEUED' },
        START: { target: 'RUNNING' },
        FAIL: { target: 'FAILED', actions: 'recordFailure' },
        CANCEL: { target: 'CANCELED', actions: 'recordCancel' },
      },
    },
    QUEUED: {
      on: {
        START: { target: 'RUNNING' },
        FAIL: { target: 'FAILED', actions: 'recordFailure' },
        CANCEL: { target: 'CANCELED', actions: 'recordCancel' },
      },
    },
    RUNNING: {
      on: {
        COMPLETE: { target: 'DONE', actions: 'recordResult' },
        FAIL: { target: 'FAILED', actions: 'recordFailure' },
        TIMEOUT: { target: 'FAILED', actions: 'recordFailure' },
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
