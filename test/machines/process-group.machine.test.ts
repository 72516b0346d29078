import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import { processGroupMachine, rankMachine } from '../../machines/process-group.machine.js';

describe('rank chart', () => {
  it('ends exited, failed or stopped', () => {
    const paths = getShortestPaths(rankMachine, {
      input: { rank: 0, node: 'n', gpus: [] },
      events: [
        { type: 'EXITED', exitCode: 0, signal: null, killed: null },
        { type: 'EXITED', exitCode: 3, signal: null, killed: null },
        { type: 'EXITED', exitCode: null, signal: 'SIGTERM', killed: 'canceled' },
      ],
    });
    expect(paths.map((p) => p.state.value).sort()).toEqual(['exited', 'failed', 'running', 'stopped']);
  });
});

describe('process-group chart', () => {
  const start = (worldSize: number) => {
    const a = createActor(processGroupMachine, { input: { uid: 'job', launcher: 'local', worldSize } }).start();
    for (let rank = 0; rank < worldSize; rank++) a.send({ type: 'RANK_STARTED', rank, node: 'n', gpus: [rank] });
    return a;
  };

  it('spawns a rank actor per process and ends done when all exit 0', () => {
    const a = start(2);
    expect(a.getSnapshot().value).toBe('running');
    expect(Object.keys(a.getSnapshot().children).sort()).toEqual(['rank-0', 'rank-1']);
    a.send({ type: 'RANK_EXITED', rank: 0, exitCode: 0, signal: null, killed: null });
    expect(a.getSnapshot().children['rank-0']!.getSnapshot().value).toBe('exited');
    a.send({ type: 'RANK_EXITED', rank: 1, exitCode: 0, signal: null, killed: null });
    expect(a.getSnapshot().value).toBe('done');
  });

  it('fails at the first failing rank and waits for the stopped ones', () => {
    const a = start(3);
    a.send({ type: 'RANK_EXITED', rank: 1, exitCode: 4, signal: null, killed: null });
    expect(a.getSnapshot().value).toBe('failing');
    a.send({ type: 'RANK_EXITED', rank: 0, exitCode: null, signal: 'SIGTERM', killed: 'peer-failed' });
    a.send({ type: 'RANK_EXITED', rank: 2, exitCode: null, signal: 'SIGTERM', killed: 'peer-failed' });
    expect(a.getSnapshot().value).toBe('failed');
    expect(a.getSnapshot().context.failedRank).toBe(1);
  });

  it('a stopped group ends stopped', () => {
    const a = start(1);
    a.send({ type: 'STOP' });
    a.send({ type: 'RANK_EXITED', rank: 0, exitCode: null, signal: 'SIGTERM', killed: 'canceled' });
    expect(a.getSnapshot().value).toBe('stopped');
  });
});
