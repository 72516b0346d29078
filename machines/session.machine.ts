import { assign, fromPromise, sendTo, setup } from 'xstate';

export type SessionStateName = 'OPEN' | 'CLOSING' | 'CLOSED';

export interface SessionMachineContext {
  uid: string;
  backends: string[];
  submitted: number;
  batches: number;
}

export type SessionMachineEvent = { type: 'ADD_BACKEND'; name: string } | { type: 'SUBMIT_BATCH'; size: number } | { type: 'CLOSE' } | { type: 'CLOSED' };

/**
 * The session: OPEN (accepts backends and batches) → CLOSING (invokes `closeSession`, which the
 * Session provides: cancel what is not terminal, shut backends down, stop telemetry, complete the
 * streams) → CLOSED. A batch is routed as a whole before SUBMIT_BATCH is sent, so the chart
 * only ever sees batches that were admitted atomically.
 *
 * @example
 * import { createActor, fromPromise } from 'xstate';
 * const actor = createActor(sessionMachine.provide({ actors: { closeSession: fromPromise<void>(async () => {}) } }), { input: { uid: 's1' } }).start();
 * actor.send({ type: 'ADD_BACKEND', name: 'local' });
 * actor.send({ type: 'SUBMIT_BATCH', size: 10 });
 * actor.send({ type: 'CLOSE' }); // CLOSING, then CLOSED once closeSession settles
 */
export const sessionMachine = setup({
  types: {
    context: {} as SessionMachineContext,
    events: {} as SessionMachineEvent,
    input: {} as { uid: string },
  },
  actors: {
    /** provided by the Session; the placeholder never settles */
    closeSession: fromPromise<void>(() => new Promise<void>(() => undefined)),
  },
  actions: {
    recordBackend: assign({
      backends: ({ context, event }) => (event.type === 'ADD_BACKEND' ? [...context.backends, event.name] : context.backends),
    }),
    recordBatch: assign(({ context, event }) => (event.type === 'SUBMIT_BATCH' ? { submitted: context.submitted + event.size, batches: context.batches + 1 } : {})),
  },
}).createMachine({
  id: 'session',
  initial: 'OPEN',
  context: ({ input }) => ({ uid: input.uid, backends: [], submitted: 0, batches: 0 }),
  states: {
    OPEN: {
      on: {
        ADD_BACKEND: { actions: 'recordBackend' },
        SUBMIT_BATCH: { actions: 'recordBatch' },
        CLOSE: 'CLOSING',
      },
    },
    CLOSING: {
      invoke: {
        src: 'closeSession',
        onDone: { actions: sendTo(({ self }) => self, { type: 'CLOSED' }) },
        onError: { actions: sendTo(({ self }) => self, { type: 'CLOSED' }) },
      },
      on: { CLOSED: 'CLOSED' },
    },
    CLOSED: { type: 'final' },
  },
});
