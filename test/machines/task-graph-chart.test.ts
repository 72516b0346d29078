// The table driver and the task chart agree on the task graph's paths: the same event sequences, sent
// to a chart actor and applied to a real run record by the run registry (the table lookup, the shared
// guards, the shared actions, the delayed transition as data), end every step with the same state and fields.
import { describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import { taskMachine, type TaskMachineEvent } from '../../machines/task.machine.js';
import { DELAYED } from '../../src/internal/lifecycle-table.js';
import { RunRegistry } from '../../src/run/run-registry.js';
import type { TaskRun } from '../../src/run/task-run.js';
import { ComputeTask, DependencyError, TaskExecutionError, type RetryOptions } from '../../src/index.js';

type Step = TaskMachineEvent | { wait: number };

/** The delay the table exposes for the run's state (the driver runs this timer), or null. */
function pendingDelay(run: TaskRun): number | null {
  const d = DELAYED[run.state];
  return d && d.transition.guard!(run, { type: d.event } as never) ? d.ms(run) : null;
}

function same(task: TaskRun, actor: ReturnType<typeof createActor<typeof taskMachine>>, at: string): void {
  const { value, context: c } = actor.getSnapshot();
  const e = task.exception;
  expect(
    {
      state: task.state,
      attempts: task.attempts,
      pendingReason: task.pendingReason,
      exitCode: task.exitCode,
      stdout: task.stdout,
      returnValue: task.returnValue,
      error: e && { name: e.name, message: e.message },
    },
    at,
  ).toEqual({
    state: value,
    attempts: c.attempts,
    pendingReason: c.pendingReason,
    exitCode: c.exitCode,
    stdout: c.stdout,
    returnValue: c.returnValue,
    error: c.error && { name: c.error.name, message: c.error.message },
  });
}

/**
 * Runs the steps on both: the run registry's table driver on a real run record, and a chart actor.
 * `{ wait }` checks the table's delay equals the chart's, then lets it pass on both.
 */
function run(steps: Step[], retries?: RetryOptions | number): TaskRun {
  const t = new ComputeTask({ executable: '/bin/true', ...(retries !== undefined ? { retries } : {}) });
  const registry = new RunRegistry();
  const task = registry.create(t, t._spec(), null, '/tmp', performance.now());
  const drive = (r: TaskRun, e: TaskMachineEvent) => registry.send(r, e);
  const clock = new SimulatedClock();
  const actor = createActor(taskMachine, { input: { uid: t.uid, retries: t.retries }, clock }).start();
  steps.forEach((step, i) => {
    if ('wait' in step) {
      expect(pendingDelay(task), `step ${i}: delay`).toBe(step.wait);
      clock.increment(step.wait - 1);
      expect(actor.getSnapshot().context.pendingReason, `step ${i}: 1 ms early`).toBe('retry');
      clock.increment(1);
      drive(task, { type: DELAYED[task.state]!.event } as never);
    } else {
      actor.send(step);
      drive(task, step);
    }
    same(task, actor, `step ${i}: ${JSON.stringify(step)}`);
  });
  actor.stop();
  task.future.catch(() => undefined);
  return task;
}

const infra = () => new TaskExecutionError('worker died', { taskUid: 'x' });
const boom = () => new TaskExecutionError('exit 3', { taskUid: 'x', exitCode: 3 });

describe('task graph paths: table driver and chart agree', () => {
  it('waits for dependencies, refuses to start meanwhile, then runs', () => {
    const t = run([
      { type: 'SUBMIT', backend: 'b', dependencies: true },
      { type: 'START' },
      { type: 'QUEUE' },
      { type: 'DEPS_READY' },
      { type: 'START' },
      { type: 'COMPLETE', exitCode: 0, stdout: 'ok\n' },
    ]);
    expect([t.state, t.attempts, t.pendingReason]).toEqual(['DONE', 1, null]);
  });

  it('a failed dependency ends it FAILED with the DependencyError, never started', () => {
    const error = new DependencyError('Task x: dependency up failed', 'x', 'up', { cause: boom() });
    const t = run([
      { type: 'SUBMIT', backend: 'b', dependencies: true },
      { type: 'DEPENDENCY_FAILED', error, dependencyUid: 'up' },
    ]);
    expect([t.state, t.attempts, t.exception]).toEqual(['FAILED', 0, error]);
  });

  it('an infrastructure failure is retried after the delay; a stale result is ignored', () => {
    const t = run(
      [
        { type: 'SUBMIT', backend: 'b' },
        { type: 'QUEUE' },
        { type: 'START' },
        { type: 'FAIL', error: infra(), infrastructure: true, attempt: 1 },
        { type: 'START' },
        { wait: 250 },
        { type: 'START' },
        { type: 'COMPLETE', exitCode: 0, stdout: 'stale', attempt: 1 },
        { type: 'FAIL', error: boom(), attempt: 1 },
        { type: 'COMPLETE', exitCode: 0, stdout: 'fresh', attempt: 2 },
      ],
      { max: 2, delay: 250 },
    );
    expect([t.state, t.attempts, t.stdout, t.exception]).toEqual(['DONE', 2, 'fresh', null]);
  });

  it("under on: 'any' task failures and timeouts retry with growing delays until attempts run out", () => {
    const t = run(
      [
        { type: 'SUBMIT', backend: 'b' },
        { type: 'START' },
        { type: 'FAIL', error: boom(), exitCode: 3 },
        { wait: 10 },
        { type: 'START' },
        { type: 'TIMEOUT', error: boom() },
        { wait: 30 },
        { type: 'START' },
        { type: 'FAIL', error: boom(), exitCode: 3 },
      ],
      { max: 2, delay: 10, factor: 3, on: 'any' },
    );
    expect([t.state, t.attempts, t.exitCode]).toEqual(['FAILED', 3, 3]);
  });

  it("under on: 'infrastructure' (the default) a task failure is final; no policy fails as before", () => {
    expect(run([{ type: 'SUBMIT', backend: 'b' }, { type: 'START' }, { type: 'FAIL', error: boom(), exitCode: 3 }], 5).state).toBe('FAILED');
    expect(run([{ type: 'SUBMIT', backend: 'b' }, { type: 'START' }, { type: 'FAIL', error: infra(), infrastructure: true }]).state).toBe('FAILED');
  });

  it('a task canceled while it waits its retry delay ends CANCELED', () => {
    const t = run([{ type: 'SUBMIT', backend: 'b' }, { type: 'START' }, { type: 'FAIL', error: infra(), infrastructure: true }, { type: 'CANCEL' }], 1);
    expect([t.state, t.exception?.name, pendingDelay(t)]).toEqual(['CANCELED', 'TaskCanceledError', null]);
  });
});
