import { assign, setup } from 'xstate';

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
