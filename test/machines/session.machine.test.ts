import { describe, expect, it } from 'vitest';
import { transition } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import { sessionMachine, type SessionMachineEvent } from '../../machines/session.machine.js';

const EVENTS: SessionMachineEvent[] = [{ type: 'ADD_BACKEND', name: 'b' }, { type: 'SUBMIT_BATCH', size: 3 }, { type: 'CLOSE' }, { type: 'CLOSED' }];

describe('session chart', () => {
  // context grows with every batch: offer the counting events once, then only the lifecycle ones
  const paths = getShortestPaths(sessionMachine, {
    events: (s) => (s.context.batches + s.context.backends.length > 0 ? EVENTS.slice(2) : EVENTS),
    input: { uid: 's' },
  });

  it('goes OPEN → CLOSING → CLOSED', () => {
    const closed = paths.find((p) => p.state.value === 'CLOSED')!;
    expect(closed.steps.map((s) => s.event.type)).toEqual(['xstate.init', 'CLOSE', 'CLOSED']);
    expect(closed.state.status).toBe('done');
  });

  it('counts batches only while open', () => {
    let s = sessionMachine.resolveState({ value: 'OPEN', context: { uid: 's', backends: [], submitted: 0, batches: 0 } });
    s = transition(sessionMachine, s, { type: 'SUBMIT_BATCH', size: 3 })[0];
    s = transition(sessionMachine, s, { type: 'ADD_BACKEND', name: 'x' })[0];
    expect(s.context).toMatchObject({ submitted: 3, batches: 1, backends: ['x'] });
    s = transition(sessionMachine, s, { type: 'CLOSE' })[0];
    s = transition(sessionMachine, s, { type: 'SUBMIT_BATCH', size: 5 })[0];
    expect(s.context.submitted).toBe(3);
  });
});
