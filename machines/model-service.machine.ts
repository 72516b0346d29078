import { assign, fromCallback, fromPromise, setup } from 'xstate';

/** What the launch actor hands back: something that can be watched and stopped. */
export interface ServiceProcess {
  pid: number | undefined;
}

export interface ModelServiceContext {
  name: string;
  restarts: number;
  maxRestarts: number;
  restartDelayMs: number;
  process: ServiceProcess | null;
  error: string | null;
}

export type ModelServiceEvent = { type: 'START' } | { type: 'EXITED'; reason: string } | { type: 'STOP' };

/**
 * A managed model server (vLLM or any OpenAI-compatible command): `starting` launches it and waits
 * for its health check, `running` watches it, a crash goes through `restarting` (bounded, with a
 * delay) back to `starting`, or to `failed` once the restarts are spent; `stopping` ends it.
 *
 * @example
 * import { spawn } from 'node:child_process';
 * import { createActor, fromPromise } from 'xstate';
 * const launch = fromPromise(async ({ input }: { input: { name: string } }) => ({ pid: spawn('vllm', ['serve', input.name]).pid })); // then await its health check
 * const service = createActor(modelServiceMachine.provide({ actors: { launch } }), { input: { name: 'my-model', maxRestarts: 2 } }).start();
 * service.send({ type: 'START' }); // starting → running; EXITED restarts it up to maxRestarts, STOP ends it
 */
export const modelServiceMachine = setup({
  types: {
    context: {} as ModelServiceContext,
    events: {} as ModelServiceEvent,
    input: {} as { name: string; maxRestarts?: number; restartDelayMs?: number },
  },
  actors: {
    launch: fromPromise<ServiceProcess, { name: string }>(async () => {
      throw new Error('launch is provided by the backend');
    }),
    watch: fromCallback<ModelServiceEvent, { process: ServiceProcess }>(() => undefined),
    stop: fromPromise<void, { process: ServiceProcess | null }>(async () => undefined),
  },
  guards: {
    canRestart: ({ context }) => context.restarts < context.maxRestarts,
  },
  delays: {
    restartDelay: ({ context }) => context.restartDelayMs,
  },
  actions: {
    keepProcess: assign({ process: ({ event }) => (event as unknown as { output: ServiceProcess }).output, error: null }),
    recordLaunchError: assign({ error: ({ event }) => String((event as unknown as { error?: Error }).error?.message ?? 'launch failed'), process: null }),
    recordExit: assign({ error: ({ event }) => (event as { reason?: string }).reason ?? 'exited', process: null }),
    countRestart: assign({ restarts: ({ context }) => context.restarts + 1 }),
  },
}).createMachine({
  id: 'modelService',
  context: ({ input }) => ({ name: input.name, restarts: 0, maxRestarts: input.maxRestarts ?? 3, restartDelayMs: input.restartDelayMs ?? 500, process: null, error: null }),
  initial: 'idle',
  states: {
    idle: { on: { START: 'starting', STOP: 'stopped' } },
    starting: {
      invoke: {
        src: 'launch',
        input: ({ context }) => ({ name: context.name }),
        onDone: { target: 'running', actions: 'keepProcess' },
        onError: [
          { guard: 'canRestart', target: 'restarting', actions: ['recordLaunchError', 'countRestart'] },
          { target: 'failed', actions: 'recordLaunchError' },
        ],
      },
      on: { STOP: 'stopping' },
    },
    running: {
      invoke: { src: 'watch', input: ({ context }) => ({ process: context.process! }) },
      on: {
        EXITED: [
          { guard: 'canRestart', target: 'restarting', actions: ['recordExit', 'countRestart'] },
          { target: 'failed', actions: 'recordExit' },
        ],
        STOP: 'stopping',
      },
    },
    restarting: {
      after: { restartDelay: 'starting' },
      on: { STOP: 'stopped' },
    },
    stopping: {
      invoke: { src: 'stop', input: ({ context }) => ({ process: context.process }), onDone: 'stopped', onError: 'stopped' },
    },
    failed: { type: 'final' },
    stopped: { type: 'final' },
  },
});
