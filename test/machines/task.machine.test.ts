import { describe, expect, it } from 'vitest';
import { transition } from 'xstate';
import { getShortestPaths, getSimplePaths } from 'xstate/graph';
import { taskMachine, TaskState, TERMINAL_STATES, type TaskMachineEvent } from '../../machines/task.machine.js';
import { LIFECYCLE } from '../../src/internal/lifecycle-table.js';

const err = { name: 'Error', message: 'x' };
const EVENTS: TaskMachineEvent[] = [
  { type: 'SUBMIT', backend: 'b' },
  { type: 'QUEUE' },
  { type: 'START' },
  { type: 'COMPLETE', returnValue: 1, stdout: '1' },
  { type: 'FAIL', error: err, exitCode: 2 },
  { type: 'TIMEOUT', error: err },
  { type: 'CANCEL' },
];
const input = { uid: 'task.x' };

describe('task chart', () => {
  const paths = getShortestPaths(taskMachine, { events: EVENTS, input });

  it('reaches every state', () => {
    const reached = new Set(paths.map((p) => p.state.value as string));
    expect([...reached].sort()).toEqual(Object.values(TaskState).sort());
  });

  it('walks NEW → SUBMITTED → QUEUED → RUNNING → DONE and records the result', () => {
    const done = paths.find((p) => p.state.value === 'DONE')!;
    expect(done.steps.map((s) => s.event.type)).toEqual(['xstate.init', 'SUBMIT', 'START', 'COMPLETE']);
    expect(done.state.context).toMatchObject({ backend: 'b', returnValue: 1, stdout: '1' });
    const simple = getSimplePaths(taskMachine, { events: EVENTS, input, toState: (s) => s.value === 'DONE' });
    expect(simple.map((p) => p.steps.map((s) => s.event.type).join('>'))).toContain('xstate.init>SUBMIT>QUEUE>START>COMPLETE');
  });

  it('can cancel from every non-terminal state, and terminal states are final', () => {
    for (const state of Object.values(TaskState)) {
      const from = paths.find((p) => p.state.value === state)!.state;
      const next = transition(taskMachine, from, { type: 'CANCEL' })[0];
      if (TERMINAL_STATES.has(state)) {
        expect(from.status).toBe('done');
        expect(next.value).toBe(state);
      } else {
        expect(next.value).toBe('CANCELED');
      }
    }
  });

  it('times out only while running', () => {
    for (const state of Object.values(TaskState)) {
      const from = paths.find((p) => p.state.value === state)!.state;
      const next = transition(taskMachine, from, { type: 'TIMEOUT', error: err })[0];
      expect(next.value).toBe(state === 'RUNNING' ? 'FAILED' : state);
    }
  });

  it('the runtime table matches the chart for every state and event', () => {
    for (const state of Object.values(TaskState)) {
      const from = paths.find((p) => p.state.value === state)!.state;
      for (const event of EVENTS) {
        const next = transition(taskMachine, from, event)[0];
        const row = LIFECYCLE[state][event.type];
        expect(row?.target ?? state, `${state} + ${event.type}`).toBe(next.value);
      }
    }
  });
});
