import { describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import { getShortestPaths } from 'xstate/graph';
import { backendMachine, type BackendMachineEvent } from '../../machines/backend.machine.js';

const EVENTS: BackendMachineEvent[] = [
  { type: 'START' },
  { type: 'STARTED' },
  { type: 'START_FAILED', error: 'boom' },
  { type: 'LOAD', inFlight: 3 },
  { type: 'LOAD', inFlight: 0 },
  { type: 'SHUTDOWN' },
  { type: 'DRAINED' },
  { type: 'STOPPED' },
];
const input = { name: 'b', kind: 'execution' as const };

describe('backend chart', () => {
  const paths = getShortestPaths(backendMachine, { events: EVENTS, input });
  const values = paths.map((p) => JSON.stringify(p.state.value));

  it('reaches INITIALIZED, every RUNNING phase and SHUTDOWN', () => {
    for (const v of ['"INITIALIZED"', '{"RUNNING":"starting"}', '{"RUNNING":"active"}', '{"RUNNING":"draining"}', '{"RUNNING":"stopping"}', '"SHUTDOWN"']) {
      expect(values).toContain(v);
    }
  });

  it('drains in-flight work before stopping', () => {
    const a = createActor(backendMachine, { input }).start();
    a.send({ type: 'START' });
    a.send({ type: 'STARTED' });
    a.send({ type: 'LOAD', inFlight: 2 });
    a.send({ type: 'SHUTDOWN' });
    expect(a.getSnapshot().value).toEqual({ RUNNING: 'draining' });
    a.send({ type: 'DRAINED' });
    expect(a.getSnapshot().value).toEqual({ RUNNING: 'stopping' });
    a.send({ type: 'STOPPED' });
    expect(a.getSnapshot().status).toBe('done');
  });

  it('an idle backend goes straight from draining to stopping', () => {
    const a = createActor(backendMachine, { input }).start();
    a.send({ type: 'START' });
    a.send({ type: 'STARTED' });
    a.send({ type: 'SHUTDOWN' });
    expect(a.getSnapshot().value).toEqual({ RUNNING: 'stopping' });
  });

  it('a failed start ends SHUTDOWN with the error', () => {
    const p = paths.find((x) => x.state.value === 'SHUTDOWN' && x.steps.some((s) => s.event.type === 'START_FAILED'));
    expect(p?.state.context.error).toBe('boom');
  });
});
