import { assign, setup } from 'xstate';

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

/**
 * Backend lifecycle: INITIALIZED → RUNNING → SHUTDOWN. RUNNING has substates: `starting` (executors
 * coming up), `active` (admitting tasks) and `draining` (shutdown asked: no admissions, in-flight
 * tasks are canceled and awaited), then `stopping` (executors closed). Admission is legal only in
 * RUNNING.active (guard `canAdmit` in the backend base class reads it).
 */
export const backendMachine = setup({
  types: {
    context: {} as BackendMachineContext,
    events: {} as BackendMachineEvent,
    input: {} as { name: string; kind: 'execution' | 'inference' },
  },
  actions: {
    recordLoad: assign({ inFlight: ({ event }) => (event.type === 'LOAD' ? event.inFlight : 0) }),
    recordError: assign({ error: ({ event }) => (event.type === 'START_FAILED' ? event.error : null) }),
    recordProgress: assign(({ context, event }) => {
      if (event.type !== 'PROGRESS') return {};
      return {
        detail: event.detail === undefined ? context.detail : event.detail,
        log: event.line === undefined ? context.log : [...context.log.slice(1 - BACKEND_LOG_LINES), event.line],
      };
    }),
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
          on: {
            STARTED: 'active',
            START_FAILED: { target: '#backend.SHUTDOWN', actions: 'recordError' },
          },
        },
        active: { on: { SHUTDOWN: 'draining' } },
        draining: {
          always: { guard: 'idle', target: 'stopping' },
          on: { DRAINED: 'stopping' },
        },
        stopping: { on: { STOPPED: '#backend.SHUTDOWN' } },
      },
    },
    SHUTDOWN: { type: 'final' },
  },
});
