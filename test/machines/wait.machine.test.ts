import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import { waitMachine, type WaitMachineEvent } from '../../machines/wait.machine.js';

const EVENTS: WaitMachineEvent[] = [{ type: 'ALL_SETTLED' }, { type: 'TASK_FAILED' }, { type: 'ABORT' }];

describe('wait chart', () => {
  it('collectAll ignores failures and settles', () => {
    const paths = getShortestPaths(waitMachine, { events: EVENTS, input: { total: 2, mode: 'collectAll' } });
    const finals = paths.map((p) => JSON.stringify(p.state.value));
    expect(finals).toContain('"settled"');
    expect(finals).not.toContain('"failed"');
  });

  it('failFast ends failed at the first failure', () => {
    const paths = getShortestPaths(waitMachine, { events: EVENTS, input: { total: 2, mode: 'failFast' } });
    const failed = paths.find((p) => p.state.value === 'failed')!;
    expect(failed.steps.map((s) => s.event.type)).toEqual(['xstate.init', 'TASK_FAILED']);
  });

  it('nothing to wait for settles at once', () => {
    const a = createActor(waitMachine, { input: { total: 0 } }).start();
    expect(a.getSnapshot().value).toBe('settled');
  });

  it('times out at the deadline (simulated clock)', () => {
    const clock = new SimulatedClock();
    const a = createActor(waitMachine, { input: { total: 3, timeout: 500 }, clock }).start();
    clock.increment(499);
    expect(a.getSnapshot().status).toBe('active');
    clock.increment(1);
    expect(a.getSnapshot().value).toBe('timedOut');
  });

  it('settling before the deadline wins', () => {
    const clock = new SimulatedClock();
    const a = createActor(waitMachine, { input: { total: 3, timeout: 500 }, clock }).start();
    a.send({ type: 'ALL_SETTLED' });
    clock.increment(1000);
    expect(a.getSnapshot().value).toBe('settled');
  });
});
