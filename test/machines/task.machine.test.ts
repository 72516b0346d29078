import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock, transition } from 'xstate';
import { getShortestPaths, getSimplePaths } from 'xstate/graph';
import { RETRY_DELAY_EVENT, taskMachine, TaskState, TERMINAL_STATES, type TaskMachineContext, type TaskMachineEvent, type TaskStateName } from '../../machines/task.machine.js';
import { TASK_UPDATES } from '../../machines/task-actions.js';
import type { RetryPolicy } from '../../machines/task-guards.js';
import { nextTransition } from '../../src/internal/lifecycle-table.js';

const err = { name: 'Error', message: 'x' };
const infra = { name: 'TaskExecutionError', message: 'worker died' };
const AFTER = { type: RETRY_DELAY_EVENT } as unknown as TaskMachineEvent;
const EVENTS: TaskMachineEvent[] = [
  { type: 'SUBMIT', backend: 'b' },
  { type: 'SUBMIT', backend: 'b', dependencies: true },
  { type: 'DEPS_READY' },
  { type: 'DEPENDENCY_FAILED', error: { name: 'DependencyError', message: 'dep failed' }, dependencyUid: 'up' },
  { type: 'QUEUE' },
  { type: 'START' },
  { type: 'COMPLETE', returnValue: 1, stdout: '1' },
  { type: 'COMPLETE', returnValue: 0, stdout: 'stale', attempt: 1 },
  { type: 'FAIL', error: err, exitCode: 2 },
  { type: 'FAIL', error: infra, infrastructure: true },
  { type: 'TIMEOUT', error: err },
  { type: 'CANCEL' },
  AFTER,
];
const input = { uid: 'task.x' };
// the requeue loop (RUNNING → QUEUED → RUNNING) counts attempts without end: explore two runs at most
const filterEvents = (s: { context: TaskMachineContext }, e: TaskMachineEvent) => !(e.type === 'START' && s.context.attempts >= 2);
const walk = { events: EVENTS, filterEvents, limit: 100_000 };
const policy = (o: Partial<RetryPolicy> = {}): RetryPolicy => ({ max: 1, delay: 100, factor: 2, on: 'infrastructure', ...o });

/** The table driver on a plain context: the same lookup, guards and pure updates the runtime applies. */
function tableStep(state: TaskStateName, context: TaskMachineContext, event: TaskMachineEvent): [TaskStateName, TaskMachineContext] {
  const t = nextTransition(context, state, event);
  if (t === undefined) return [state, context];
  let next = context;
  for (const a of t.actions) next = { ...next, ...TASK_UPDATES[a]!(next, event) };
  return [t.target, next];
}

describe('task chart', () => {
  const paths = getShortestPaths(taskMachine, { ...walk, input });

  it('reaches every state', () => {
    const reached = new Set(paths.map((p) => p.state.value as string));
    expect([...reached].sort()).toEqual(Object.values(TaskState).sort());
  });

  it('walks NEW → SUBMITTED → QUEUED → RUNNING → DONE and records the result', () => {
    const done = paths.find((p) => p.state.value === 'DONE')!;
    expect(done.steps.map((s) => s.event.type)).toEqual(['xstate.init', 'SUBMIT', 'START', 'COMPLETE']);
    expect(done.state.context).toMatchObject({ backend: 'b', returnValue: 1, stdout: '1', attempts: 1, pendingReason: null });
    const simple = getSimplePaths(taskMachine, { ...walk, input, toState: (s) => s.value === 'DONE' });
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

  it('waits for its dependencies in SUBMITTED, then runs', () => {
    const simple = getSimplePaths(taskMachine, { ...walk, input, toState: (s) => s.value === 'DONE' });
    const viaDeps = simple.filter((p) => p.steps.some((s) => s.event.type === 'DEPS_READY')).sort((a, b) => a.steps.length - b.steps.length)[0]!;
    expect(viaDeps.steps.map((s) => s.event.type)).toEqual(['xstate.init', 'SUBMIT', 'DEPS_READY', 'START', 'COMPLETE']);
    const waiting = viaDeps.steps[1]!.state;
    expect([waiting.value, waiting.context.pendingReason]).toEqual(['SUBMITTED', 'dependencies']);
    // while it waits it can neither queue nor start; DEPS_READY is refused when nothing is awaited
    expect(transition(taskMachine, waiting, { type: 'START' })[0].context.attempts).toBe(0);
    expect(transition(taskMachine, waiting, { type: 'QUEUE' })[0].value).toBe('SUBMITTED');
    const ready = transition(taskMachine, waiting, { type: 'DEPS_READY' })[0];
    expect([ready.value, ready.context.pendingReason]).toEqual(['SUBMITTED', null]);
    const plain = paths.find((p) => p.state.value === 'SUBMITTED' && p.state.context.pendingReason === null)!.state;
    expect(transition(taskMachine, plain, { type: 'DEPENDENCY_FAILED', error: err, dependencyUid: 'up' })[0].value).toBe('SUBMITTED');
  });

  it('a failed dependency ends the waiting task FAILED without running it', () => {
    const failed = getShortestPaths(taskMachine, { ...walk, input, toState: (s) => s.value === 'FAILED' && s.context.error?.name === 'DependencyError' })[0]!;
    expect(failed.steps.map((s) => s.event.type)).toEqual(['xstate.init', 'SUBMIT', 'DEPENDENCY_FAILED']);
    expect(failed.state.context).toMatchObject({ attempts: 0, error: { name: 'DependencyError', message: 'dep failed' } });
  });

  it('retries an infrastructure failure through QUEUED after the delay, counting attempts', () => {
    const withRetry = { uid: 'task.r', retries: policy() };
    const done = getSimplePaths(taskMachine, { ...walk, input: withRetry, toState: (s) => s.value === 'DONE' }).map((p) => p.steps.map((s) => s.event.type).join('>'));
    expect(done).toContain(`xstate.init>SUBMIT>START>FAIL>${RETRY_DELAY_EVENT}>START>COMPLETE`);
    // without a policy, or for a task failure under on: 'infrastructure', there is no way back to QUEUED after a FAIL
    for (const [i, forbidden] of [
      [input, 'FAIL'],
      [withRetry, 'TIMEOUT'],
    ] as const) {
      const all = getSimplePaths(taskMachine, { ...walk, events: EVENTS.filter((e) => e.type !== 'QUEUE'), input: i, toState: (s) => s.value === 'DONE' });
      expect(
        all.filter((p) => p.steps.some((s) => s.event.type === forbidden)),
        JSON.stringify(i),
      ).toEqual([]);
    }
  });

  it('the retry waits the chart delay: delay · factor^(attempt − 1), and stops when attempts run out', () => {
    const clock = new SimulatedClock();
    const actor = createActor(taskMachine, { input: { uid: 'task.d', retries: policy({ max: 2, delay: 100, factor: 3, on: 'any' }) }, clock }).start();
    actor.send({ type: 'SUBMIT', backend: 'b' });
    actor.send({ type: 'START' });
    actor.send({ type: 'FAIL', error: err });
    expect([actor.getSnapshot().value, actor.getSnapshot().context.pendingReason, actor.getSnapshot().context.error]).toEqual(['QUEUED', 'retry', err]);
    actor.send({ type: 'START' }); // refused while it waits
    expect(actor.getSnapshot().context.attempts).toBe(1);
    clock.increment(99);
    expect(actor.getSnapshot().context.pendingReason).toBe('retry');
    clock.increment(1);
    expect(actor.getSnapshot().context).toMatchObject({ pendingReason: null, error: null });
    actor.send({ type: 'START' });
    actor.send({ type: 'TIMEOUT', error: err }); // attempt 2 fails: waits 300 ms
    clock.increment(299);
    expect(actor.getSnapshot().context.pendingReason).toBe('retry');
    clock.increment(1);
    actor.send({ type: 'START' });
    expect(actor.getSnapshot().context.attempts).toBe(3);
    actor.send({ type: 'FAIL', error: err }); // the third run was the last
    expect([actor.getSnapshot().value, actor.getSnapshot().context.attempts]).toEqual(['FAILED', 3]);
    actor.stop();
  });

  it('events of an earlier attempt never overwrite a later one', () => {
    const actor = createActor(taskMachine, { input: { uid: 'task.s', retries: policy() } }).start();
    for (const e of [{ type: 'SUBMIT', backend: 'b' }, { type: 'START' }, { type: 'FAIL', error: infra, infrastructure: true, attempt: 1 }, AFTER, { type: 'START' }] as TaskMachineEvent[])
      actor.send(e);
    expect(actor.getSnapshot().context.attempts).toBe(2);
    actor.send({ type: 'COMPLETE', returnValue: 'old', attempt: 1 });
    actor.send({ type: 'FAIL', error: err, attempt: 1 });
    expect(actor.getSnapshot().value).toBe('RUNNING');
    actor.send({ type: 'COMPLETE', returnValue: 'new', attempt: 2 });
    expect([actor.getSnapshot().value, actor.getSnapshot().context.returnValue]).toEqual(['DONE', 'new']);
  });

  it('the runtime table takes the chart transition, with the same context, for every reachable state and event', () => {
    for (const i of [input, { uid: 'task.r', retries: policy({ max: 2, on: 'any' }) }]) {
      const reached = getShortestPaths(taskMachine, { ...walk, input: i }).map((p) => p.state);
      expect(reached.length).toBeGreaterThan(10);
      for (const from of reached) {
        for (const event of EVENTS) {
          const next = transition(taskMachine, from, event)[0];
          const [state, context] = tableStep(from.value as TaskStateName, from.context, event);
          expect([state, context], `${from.value} ${JSON.stringify(from.context)} + ${JSON.stringify(event)}`).toEqual([next.value, next.context]);
        }
      }
    }
  });
});
