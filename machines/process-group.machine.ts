import { assign, sendTo, setup, spawnChild } from 'xstate';

export interface RankMachineContext {
  rank: number;
  node: string;
  gpus: number[];
  exitCode: number | null;
  signal: string | null;
}

export type RankMachineEvent = { type: 'EXITED'; exitCode: number | null; signal: string | null; killed: string | null };

/** One rank process: running → exited (code 0) | failed (non-zero, signal) | stopped (killed by us). */
export const rankMachine = setup({
  types: {
    context: {} as RankMachineContext,
    events: {} as RankMachineEvent,
    input: {} as { rank: number; node: string; gpus: number[] },
  },
  actions: {
    recordExit: assign(({ event }) => ({ exitCode: event.exitCode, signal: event.signal })),
  },
  guards: {
    succeeded: ({ event }) => event.exitCode === 0,
    stoppedByUs: ({ event }) => event.killed !== null,
  },
}).createMachine({
  id: 'rank',
  initial: 'running',
  context: ({ input }) => ({ ...input, exitCode: null, signal: null }),
  states: {
    running: {
      on: {
        EXITED: [
          { guard: 'succeeded', target: 'exited', actions: 'recordExit' },
          { guard: 'stoppedByUs', target: 'stopped', actions: 'recordExit' },
          { target: 'failed', actions: 'recordExit' },
        ],
      },
    },
    exited: { type: 'final' },
    failed: { type: 'final' },
    stopped: { type: 'final' },
  },
});

export interface ProcessGroupContext {
  uid: string;
  launcher: string;
  worldSize: number;
  started: number;
  exited: number;
  failedRank: number | null;
}

export type ProcessGroupEvent =
  | { type: 'RANK_STARTED'; rank: number; node: string; gpus: number[] }
  | { type: 'RANK_EXITED'; rank: number; exitCode: number | null; signal: string | null; killed: string | null }
  | { type: 'STOP' };

/**
 * A job's process group: it spawns one rank actor per process as the launcher starts them and
 * ends `done` when every rank exited 0, `failed` at the first failing rank (the launcher stops the
 * others), or `stopped` when canceled. Materialised by the HPC backend while it is inspected.
 */
export const processGroupMachine = setup({
  types: {
    context: {} as ProcessGroupContext,
    events: {} as ProcessGroupEvent,
    input: {} as { uid: string; launcher: string; worldSize: number },
  },
  actors: { rank: rankMachine },
  actions: {
    spawnRank: spawnChild('rank', {
      id: ({ event }) => `rank-${(event as { rank: number }).rank}`,
      input: ({ event }) => {
        const e = event as Extract<ProcessGroupEvent, { type: 'RANK_STARTED' }>;
        return { rank: e.rank, node: e.node, gpus: e.gpus };
      },
    }),
    countStart: assign({ started: ({ context }) => context.started + 1 }),
    forwardExit: sendTo(
      ({ event }) => `rank-${(event as { rank: number }).rank}`,
      ({ event }) => {
        const e = event as Extract<ProcessGroupEvent, { type: 'RANK_EXITED' }>;
        return { type: 'EXITED' as const, exitCode: e.exitCode, signal: e.signal, killed: e.killed };
      },
    ),
    countExit: assign(({ context, event }) => {
      const e = event as Extract<ProcessGroupEvent, { type: 'RANK_EXITED' }>;
      const failed = e.exitCode !== 0 && e.killed === null && context.failedRank === null;
      return { exited: context.exited + 1, failedRank: failed ? e.rank : context.failedRank };
    }),
  },
  guards: {
    allStarted: ({ context }) => context.started === context.worldSize,
    allExited: ({ context }) => context.exited === context.worldSize,
    aRankFailed: ({ context }) => context.failedRank !== null,
  },
}).createMachine({
  id: 'processGroup',
  initial: 'launching',
  context: ({ input }) => ({ ...input, started: 0, exited: 0, failedRank: null }),
  on: {
    RANK_STARTED: { actions: ['spawnRank', 'countStart'] },
    RANK_EXITED: { actions: ['forwardExit', 'countExit'] },
  },
  states: {
    launching: {
      always: { guard: 'allStarted', target: 'running' },
      on: { STOP: 'stopping' },
    },
    running: {
      always: [
        { guard: 'aRankFailed', target: 'failing' },
        { guard: 'allExited', target: 'done' },
      ],
      on: { STOP: 'stopping' },
    },
    failing: { always: { guard: 'allExited', target: 'failed' } },
    stopping: { always: { guard: 'allExited', target: 'stopped' } },
    done: { type: 'final' },
    failed: { type: 'final' },
    stopped: { type: 'final' },
  },
});
