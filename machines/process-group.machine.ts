import { assign, sendTo, setup, spawnChild } from 'xstate';

export interface RankMachineContext {
  rank: number;
  node: string;
  gpus: number[];
  exitCode: number | null;
  signal: string | null;
}

export type RankMachineEvent = { type: 'EXITED'; exitCode: number | null; signal: string | null; killed: string | null };

/**
 * One rank process: running → exited (code 0) | failed (non-zero, signal) | stopped (killed by us).
 *
 * @example
 * import { createActor } from 'xstate';
 * const rank = createActor(rankMachine, { input: { rank: 0, node: 'n1', gpus: [0] } }).start();
 * rank.send({ type: 'EXITED', exitCode: 0, signal: null, killed: null });
 * rank.getSnapshot().value; // 'exited'
 */
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
    stoppedByUs: ({ event }) => event.killed !== null && event.killed !== 'timeout',
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

/** A rank's own failure (not a kill by us because a peer failed or the job was canceled). */
function ownFailure(e: { exitCode: number | null; killed: string | null }): boolean {
  return e.exitCode !== 0 && (e.killed === null || e.killed === 'timeout');
}

/**
 * A job's process group: it spawns one rank actor per process as the launcher starts them and
 * ends `done` when every rank exited 0, `failed` after the first failing rank, or `stopped` when
 * canceled. Entering `failing` or `stopping` runs `stopRanks` (the HPC backend provides it: kill
 * the job's other processes), so the chart decides when peers stop; its final state decides the
 * task's outcome. The HPC backend runs one for every job.
 *
 * @example
 * const group = createActor(processGroupMachine, { input: { uid: 'job1', launcher: 'local', worldSize: 2 } }).start();
 * group.send({ type: 'RANK_STARTED', rank: 0, node: 'n1', gpus: [0] });
 * group.send({ type: 'RANK_STARTED', rank: 1, node: 'n1', gpus: [1] });
 * group.send({ type: 'RANK_EXITED', rank: 1, exitCode: 3, signal: null, killed: null }); // 'failing': stopRanks
 * group.send({ type: 'RANK_EXITED', rank: 0, exitCode: null, signal: 'SIGTERM', killed: 'peer-failed' }); // 'failed'
 */
export const processGroupMachine = setup({
  types: {
    context: {} as ProcessGroupContext,
    events: {} as ProcessGroupEvent,
    input: {} as { uid: string; launcher: string; worldSize: number },
  },
  actors: { rank: rankMachine },
  actions: {
    /** provided by the backend: stop every rank still running */
    stopRanks: () => undefined,
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
      const failed = ownFailure(e) && context.failedRank === null;
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
    failing: { entry: 'stopRanks', always: { guard: 'allExited', target: 'failed' } },
    stopping: { entry: 'stopRanks', always: { guard: 'allExited', target: 'stopped' } },
    done: { type: 'final' },
    failed: { type: 'final' },
    stopped: { type: 'final' },
  },
});
