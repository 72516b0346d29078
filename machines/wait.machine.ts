import { setup } from 'xstate';

export type WaitMode = 'collectAll' | 'failFast';

export interface WaitMachineContext {
  mode: WaitMode;
  total: number;
  /** ms; null = no deadline */
  timeout: number | null;
}

export type WaitMachineEvent = { type: 'ALL_SETTLED' } | { type: 'TASK_FAILED' } | { type: 'ABORT' };

/**
 * Wait-mode semantics of the original. `collectAll` (session.waitTasks) ignores task failures and
 * ends `settled` once every task is terminal, or `timedOut` at the deadline. `failFast` (gather
 * without return_exceptions) ends `failed` at the first failure. The caller counts completions in
 * plain code and sends only the events that can change the outcome, so a wait over 100k tasks costs
 * a handful of transitions.
 *
 * @example
 * import { createActor } from 'xstate';
 * const wait = createActor(waitMachine, { input: { mode: 'failFast', total: 3, timeout: 30_000 } }).start();
 * wait.send({ type: 'TASK_FAILED' });
 * wait.getSnapshot().value; // 'failed' (with mode 'collectAll' it keeps waiting)
 */
export const waitMachine = setup({
  types: {
    context: {} as WaitMachineContext,
    events: {} as WaitMachineEvent,
    input: {} as { mode?: WaitMode; total: number; timeout?: number | null },
  },
  guards: {
    failFast: ({ context }) => context.mode === 'failFast',
    nothingToWaitFor: ({ context }) => context.total === 0,
    hasDeadline: ({ context }) => context.timeout !== null,
  },
  delays: {
    deadline: ({ context }) => context.timeout ?? 0,
  },
}).createMachine({
  id: 'wait',
  initial: 'waiting',
  context: ({ input }) => ({ mode: input.mode ?? 'collectAll', total: input.total, timeout: input.timeout ?? null }),
  states: {
    waiting: {
      always: { guard: 'nothingToWaitFor', target: 'settled' },
      on: {
        ALL_SETTLED: 'settled',
        TASK_FAILED: { guard: 'failFast', target: 'failed' },
        ABORT: 'aborted',
      },
      initial: 'unbounded',
      states: {
        unbounded: {
          always: { guard: 'hasDeadline', target: 'bounded' },
        },
        bounded: {
          after: { deadline: '#wait.timedOut' },
        },
      },
    },
    settled: { type: 'final' },
    failed: { type: 'final' },
    timedOut: { type: 'final' },
    aborted: { type: 'final' },
  },
});
