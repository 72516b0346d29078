import { assign, fromPromise, sendTo, setup } from 'xstate';

export type BackendStateName = 'INITIALIZED' | 'RUNNING' | 'SHUTDOWN';

export interface BackendMachineContext {
  name: string;
  kind: 'execution' | 'inference';
  inFlight: number;
  error: string | null;
  /** what the backend is doing or waiting for, in words (`waiting for workers: 1/2 registered`) */
  detail: string | null;
  /** the most recent lines of what it runs (a model server's output, workers registering), oldest first */
  log: string[];
}

/** Lines kept in `log`. */
export const BACKEND_LOG_LINES = 20;

export type BackendMachineEvent =
  | { type: 'START' }
  | { type: 'STARTED' }
  | { type: 'START_FAILED'; error: string }
  | { type: 'LOAD'; inFlight: number }
  /** progress: a new `detail` (when given) and/or one more `log` line */
  | { type: 'PROGRESS'; detail?: string | null; line?: string }
  | { type: 'SHUTDOWN' }
  | { type: 'DRAINED' }
  | { type: 'STOPPED' };

/** Never settles: the placeholder for effects a backend provides (`machine.provide({ actors })`). */
const provided = fromPromise<void>(() => new Promise<void>(() => undefined));

/**
 * Backend lifecycle: INITIALIZED → RUNNING → SHUTDOWN. RUNNING has substates: `starting` (invokes
 * `startExecutors`), `active` (admitting tasks), `draining` (shutdown asked: entry `abortRuns`
 * cancels what is in flight; the live in-flight count, `LOAD`, reaching 0 ends it) and `stopping`
 * (invokes `closeExecutors`). The Backend base class provides the three effects, so the chart
 * drives start, drain and stop; admission is legal only in RUNNING.active.
 *
 * @example
 * import { createActor, fromPromise, waitFor } from 'xstate';
 * const done = fromPromise<void>(async () => {});
 * const actor = createActor(backendMachine.provide({ actors: { startExecutors: done, closeExecutors: done } }), { input: { name: 'b', kind: 'execution' } }).start();
 * actor.send({ type: 'START' });
 * await waitFor(actor, (s) => s.matches({ RUNNING: 'active' }));
 * actor.send({ type: 'SHUTDOWN' }); // draining → stopping → SHUTDOWN
 */
export const backendMachine = setup({
  types: {
    context: {} as BackendMachineContext,
    events: {} as BackendMachineEvent,
    input: {} as { name: string; kind: 'execution' | 'inference' },
  },
  actors: {
    startExecutors: provided,
    closeExecutors: provided,
  },
  actions: {
    /** provided by the backend: abort every run in flight */
    abortRuns: () => undefined,
    recordLoad: assign({ inFlight: ({ event }) => (event.type === 'LOAD' ? event.inFlight : 0) }),
    recordError: assign({ error: ({ event }) => (event.type === 'START_FAILED' ? event.error : null) }),
    recordProgress: assign(({ context, event }) => {
      if (event.type !== 'PROGRESS') return {};
      return {
        detail: event.detail === undefined ? context.detail : event.detail,
        log: event.line === undefined ? context.log : [...context.log.slice(1 - BACKEND_LOG_LINES), event.line],
      };
    }),
    recordCloseError: assign({ error: ({ event }) => String((event as { error?: { message?: string } }).error?.message ?? (event as { error?: unknown }).error) }),
  },
  guards: {
    idle: ({ context }) => context.inFlight === 0,
  },
}).createMachine({
  id: 'backend',
  initial: 'INITIALIZED',
  context: ({ input }) => ({ name: input.name, kind: input.kind, inFlight: 0, error: null, detail: null, log: [] }),
  on: { LOAD: { actions: 'recordLoad' }, PROGRESS: { actions: 'recordProgress' } },
  states: {
    INITIALIZED: {
      on: { START: 'RUNNING', SHUTDOWN: 'SHUTDOWN' },
    },
    RUNNING: {
      initial: 'starting',
      states: {
        starting: {
          invoke: {
            src: 'startExecutors',
            onDone: { actions: sendTo(({ self }) => self, { type: 'STARTED' }) },
            onError: {
              actions: sendTo(
                ({ self }) => self,
                ({ event }) => ({ type: 'START_FAILED' as const, error: String((event.error as Error)?.message ?? event.error) }),
              ),
            },
          },
          on: {
            STARTED: 'active',
            START_FAILED: { target: '#backend.SHUTDOWN', actions: 'recordError' },
          },
        },
        active: { on: { SHUTDOWN: 'draining' } },
        draining: {
          entry: 'abortRuns',
          always: { guard: 'idle', target: 'stopping' },
          on: { DRAINED: 'stopping' },
        },
        stopping: {
          invoke: {
            src: 'closeExecutors',
            onDone: { actions: sendTo(({ self }) => self, { type: 'STOPPED' }) },
            onError: { actions: ['recordCloseError', sendTo(({ self }) => self, { type: 'STOPPED' })] },
          },
          on: { STOPPED: '#backend.SHUTDOWN' },
        },
      },
    },
    SHUTDOWN: { type: 'final' },
  },
});
