import { describe, expect, it } from 'vitest';
import { createActor, fromCallback, fromPromise, SimulatedClock, waitFor } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import { modelServiceMachine, type ModelServiceEvent, type ServiceProcess } from '../../machines/model-service.machine.js';

/** The chart with scripted side effects: launches succeed or fail per attempt; exits are sent by hand. */
function scripted(launches: Array<'ok' | 'fail'>, stopped: number[] = []) {
  let n = 0;
  return modelServiceMachine.provide({
    actors: {
      launch: fromPromise<ServiceProcess, { name: string }>(async () => {
        if (launches[n++] === 'fail') throw new Error(`launch ${n} failed`);
        return { pid: 1000 + n };
      }),
      watch: fromCallback<ModelServiceEvent, { process: { pid: number | undefined } }>(() => undefined),
      stop: fromPromise(async ({ input }) => void stopped.push((input.process as { pid: number }).pid)),
    },
  });
}

describe('model service chart', () => {
  it('every path ends stopped or failed; nothing leaves a final state', () => {
    const paths = getShortestPaths(modelServiceMachine, { events: [{ type: 'START' }, { type: 'STOP' }, { type: 'EXITED', reason: 'x' }], input: { name: 's' } });
    const states = new Set(paths.map((p) => p.state.value as string));
    expect(states).toContain('starting');
    expect(states).toContain('stopped');
  });

  it('a crash restarts it; the restarts are bounded', async () => {
    const clock = new SimulatedClock();
    const a = createActor(scripted(['ok', 'ok', 'ok']), { input: { name: 's', maxRestarts: 1, restartDelayMs: 100 }, clock }).start();
    a.send({ type: 'START' });
    await waitFor(a, (s) => s.value === 'running');
    expect(a.getSnapshot().context.process).toEqual({ pid: 1001 });
    a.send({ type: 'EXITED', reason: 'killed' });
    expect(a.getSnapshot().value).toBe('restarting');
    clock.increment(100);
    await waitFor(a, (s) => s.value === 'running');
    expect(a.getSnapshot().context.process).toEqual({ pid: 1002 });
    a.send({ type: 'EXITED', reason: 'killed again' });
    expect(a.getSnapshot().value).toBe('failed');
    expect(a.getSnapshot().context.error).toBe('killed again');
  });

  it('a failing launch is retried like a crash', async () => {
    const clock = new SimulatedClock();
    const a = createActor(scripted(['fail', 'ok']), { input: { name: 's', restartDelayMs: 50 }, clock }).start();
    a.send({ type: 'START' });
    await waitFor(a, (s) => s.value === 'restarting');
    expect(a.getSnapshot().context.error).toBe('launch 1 failed');
    clock.increment(50);
    await waitFor(a, (s) => s.value === 'running');
  });

  it('STOP stops the running process and ends stopped', async () => {
    const stopped: number[] = [];
    const a = createActor(scripted(['ok'], stopped), { input: { name: 's' } }).start();
    a.send({ type: 'START' });
    await waitFor(a, (s) => s.value === 'running');
    a.send({ type: 'STOP' });
    await waitFor(a, (s) => s.status === 'done');
    expect(a.getSnapshot().value).toBe('stopped');
    expect(stopped).toEqual([1001]);
  });
});
