// What a session tells about waiting dependents, dependency failures and retries: getStatistics().graph,
// task$ across attempts, events$ for a dependency failure, and cancelTasks() / close() / waitTasks()
// with tasks that wait for dependencies or a retry delay.
import { firstValueFrom, toArray } from 'rxjs';
import { afterAll, describe, expect, it } from 'vitest';
import { ComputeTask, ConcurrentExecutionBackend, DependencyError, Session, TimeoutError, type TaskEvent } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses } from '../helpers.js';

const mark = markProcesses();
afterAll(() => expectNoProcessesLeft(mark));

async function inline() {
  return new Session({ backends: [await ConcurrentExecutionBackend.create({ name: 'inline', executor: 'inline' })] });
}

/** A function that fails its first `n` runs, then returns the run count. */
function failing(n: number) {
  let runs = 0;
  return () => {
    if (++runs <= n) throw new Error(`run ${runs}`);
    return runs;
  };
}

const until = async (check: () => boolean) => {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
};

describe('a session observes its graph and retries', () => {
  it('getStatistics().graph counts who waits for dependencies or a retry delay, retries and dependency failures', async () => {
    await using session = await inline();
    expect(session.getStatistics().graph).toEqual({ waiting: 0, retrying: 0, retries: 0, dependencyFailures: 0 });
    const gate = new ComputeTask({ uid: 'gate', executable: '/bin/sleep', arguments: ['0.5'] });
    const bad = new ComputeTask({ uid: 'bad', executable: '/bin/false', dependsOn: [gate] });
    const d1 = new ComputeTask({ uid: 'd1', function: () => 1, dependsOn: [bad] });
    const d2 = new ComputeTask({ uid: 'd2', function: () => 1, dependsOn: [d1] });
    const ok = new ComputeTask({ uid: 'ok', function: () => 1, dependsOn: [gate] });
    const flaky = new ComputeTask({ uid: 'flaky', function: failing(2), retries: { max: 3, delay: 300, factor: 1, on: 'any' } });
    const tasks = [gate, bad, d1, d2, ok, flaky];
    await session.submitTasks(tasks);
    await until(() => flaky.pendingReason === 'retry');
    expect(session.getStatistics().graph).toEqual({ waiting: 4, retrying: 1, retries: 1, dependencyFailures: 0 });
    expect(session.getStatistics().counts).toMatchObject({ SUBMITTED: 4, QUEUED: 1, RUNNING: 1 });
    await session.waitTasks(tasks);
    expect([flaky.state, flaky.attempts, ok.state, d2.state]).toEqual(['DONE', 3, 'DONE', 'FAILED']);
    expect(session.getStatistics().graph).toEqual({ waiting: 0, retrying: 0, retries: 2, dependencyFailures: 2 });
    // a later dependent of a failed task fails at once, and is counted
    const late = new ComputeTask({ uid: 'late', function: () => 1, args: [bad] });
    await session.submitTasks([late]).then(([f]) => f!.catch(() => undefined));
    expect(session.getStatistics().graph).toEqual({ waiting: 0, retrying: 0, retries: 2, dependencyFailures: 3 });
  });

  it('task$ shows each attempt and the retry delay; events$ a dependency failure with its DependencyError', async () => {
    await using session = await inline();
    const events: TaskEvent[] = [];
    session.events$.subscribe((e) => events.push(e));
    const gate = new ComputeTask({ uid: 'gate', executable: '/bin/true' });
    const flaky = new ComputeTask({ uid: 'flaky', function: failing(1), retries: { max: 1, delay: 20, on: 'any' }, dependsOn: [gate] });
    const bad = new ComputeTask({ uid: 'bad', executable: '/bin/false' });
    const dep = new ComputeTask({ uid: 'dep', function: () => 1, dependsOn: [bad] });
    await session.submitTasks([gate, flaky, bad, dep]);
    const snapshots = firstValueFrom(session.task$(flaky).pipe(toArray()));
    await session.waitTasks([flaky, bad, dep]);
    expect((await snapshots).map((s) => `${s.state}:${s.attempts}:${s.pendingReason}:${s.exception?.message ?? ''}`)).toEqual([
      'SUBMITTED:0:dependencies:',
      'SUBMITTED:0:null:',
      'QUEUED:0:null:',
      'RUNNING:1:null:',
      'QUEUED:1:retry:run 1',
      'QUEUED:1:null:',
      'RUNNING:2:null:',
      'DONE:2:null:',
    ]);
    const failure = events.find((e) => e.uid === 'dep' && e.state === 'FAILED')!;
    expect(failure.previousState).toBe('SUBMITTED');
    expect(failure.task.exception).toMatchObject({ name: 'DependencyError', message: 'Task dep: dependency bad failed' });
    expect(dep.exception).toBeInstanceOf(DependencyError);
  });

  it('cancelTasks() cancels tasks waiting for dependencies and for a retry delay; no attempt starts after', async () => {
    await using session = await inline();
    let runs = 0;
    const gate = new ComputeTask({ uid: 'gate', executable: '/bin/sleep', arguments: ['30'] });
    const waiting = new ComputeTask({ uid: 'waiting', function: () => runs++, dependsOn: [gate] });
    const retrying = new ComputeTask({
      uid: 'retrying',
      function: () => {
        runs++;
        throw new Error('again');
      },
      retries: { max: 5, delay: 150, on: 'any' },
    });
    const futures = await session.submitTasks([gate, waiting, retrying]);
    await until(() => retrying.pendingReason === 'retry' && gate.state === 'RUNNING');
    expect(session.getStatistics().graph).toMatchObject({ waiting: 1, retrying: 1 });
    expect(await session.cancelTasks()).toBe(3);
    expect((await Promise.allSettled(futures)).map((s) => s.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect([gate.state, waiting.state, retrying.state]).toEqual(['CANCELED', 'CANCELED', 'CANCELED']);
    await new Promise((r) => setTimeout(r, 250)); // past the retry delay
    expect([runs, retrying.attempts]).toEqual([1, 1]);
    expect(session.getStatistics().graph).toMatchObject({ waiting: 0, retrying: 0, retries: 1 });
  });

  it('cancelTasks(some) cancels a waiting dependent (its dependents fail) and a retrying task, and leaves the rest', async () => {
    await using session = await inline();
    const gate = new ComputeTask({ uid: 'gate', executable: '/bin/sleep', arguments: ['0.3'] });
    const mid = new ComputeTask({ uid: 'mid', function: () => 1, dependsOn: [gate] });
    const leaf = new ComputeTask({ uid: 'leaf', function: () => 1, dependsOn: [mid] });
    const other = new ComputeTask({ uid: 'other', function: () => 2, dependsOn: [gate] });
    const r = new ComputeTask({ uid: 'r', function: failing(9), retries: { max: 9, delay: 100, on: 'any' } });
    const keep = new ComputeTask({ uid: 'keep', function: failing(1), retries: { max: 1, delay: 100, on: 'any' } });
    await session.submitTasks([gate, mid, leaf, other, r, keep]);
    await until(() => r.pendingReason === 'retry' && keep.pendingReason === 'retry');
    expect(await session.cancelTasks([mid, r])).toBe(2);
    await session.waitTasks([gate, mid, leaf, other, r, keep]);
    expect([gate.state, mid.state, leaf.state, other.state, r.state, keep.state]).toEqual(['DONE', 'CANCELED', 'FAILED', 'DONE', 'CANCELED', 'DONE']);
    expect([r.attempts, keep.attempts]).toEqual([1, 2]);
    expect((leaf.exception as DependencyError).dependencyUid).toBe('mid');
  });

  it('close() settles a task waiting its retry delay and its waiting dependents; nothing runs after', async () => {
    const session = await inline();
    let runs = 0;
    const r = new ComputeTask({
      uid: 'r',
      function: () => {
        runs++;
        throw new Error('again');
      },
      retries: { max: 3, delay: 200, on: 'any' },
    });
    const after = new ComputeTask({ uid: 'after', function: () => runs++, args: [r] });
    const futures = await session.submitTasks([r, after]);
    await until(() => r.pendingReason === 'retry');
    await session.close();
    expect((await Promise.allSettled(futures)).map((s) => s.status)).toEqual(['rejected', 'rejected']);
    expect([r.state, after.state]).toEqual(['CANCELED', 'CANCELED']);
    await new Promise((r) => setTimeout(r, 300));
    expect(runs).toBe(1);
    expect(session.getStatistics().graph).toMatchObject({ waiting: 0, retrying: 0 });
  });

  it('waitTasks: failFast rejects with the DependencyError, a timeout leaves waiting dependents alone, retries are waited for', async () => {
    await using session = await inline();
    const bad = new ComputeTask({ uid: 'bad', executable: '/bin/sh', arguments: ['-c', 'sleep 0.1; exit 2'] });
    const dep = new ComputeTask({ uid: 'dep', function: () => 1, dependsOn: [bad] });
    const slow = new ComputeTask({ uid: 'slow', executable: '/bin/sleep', arguments: ['0.4'] });
    const after = new ComputeTask({ uid: 'after', function: () => 'ran', dependsOn: [slow] });
    const flaky = new ComputeTask({ uid: 'flaky', function: failing(1), retries: { max: 1, delay: 50, on: 'any' } });
    await session.submitTasks([bad, dep, slow, after, flaky]);
    await expect(session.waitTasks([dep, slow], { failFast: true })).rejects.toMatchObject({ name: 'DependencyError', dependencyUid: 'bad' });
    await expect(session.waitTasks([after], { timeout: 20 })).rejects.toBeInstanceOf(TimeoutError);
    expect([after.state, after.pendingReason]).toEqual(['SUBMITTED', 'dependencies']);
    await session.waitTasks([after, flaky], { failFast: true });
    expect([after.state, after.returnValue, flaky.state, flaky.attempts]).toEqual(['DONE', 'ran', 'DONE', 2]);
  });
});
