import { assign, fromPromise, sendTo, setup } from 'xstate';

export type BackendStateName = 'INITIALIZED' | 'RUNNING' | 'SHUTDOWN';

export interface BackendMachineContext {
  name: string;
  kind: 'execution' | 'inference';
  inFlight: number;
  error: string | null;
}

export type BackendMachineEvent =
  | { type: 'START' }
  | { type: 'STARTED' }
  | { type: 'START_FAILED'; error: string }
  | { type: 'LOAD'; inFlight: number }
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
    recordCloseError: assign({ error: ({ event }) => String(((event as { error?: { message?: string } }).error)?.message ?? (event as { error?: unknown }).error) }),
  },
  guards: {
    idle: ({ context }) => context.inFlight === 0,
  },
}).createMachine({
  id: 'backend',
  initial: 'INITIALIZED',
  context: ({ input }) => ({ name: input.name, kind: input.kind, inFlight: 0, error: null }),
  on: { LOAD: { actions: 'recordLoad' } },
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
            onError: { actions: sendTo(({ self }) => self, ({ event }) => ({ type: 'START_FAILED' as const, error: String((event.error as Error)?.message ?? event.error) })) },
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
