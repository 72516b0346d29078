// The task graph through a real session: values flow between tasks on two backends, dependents wait
// in SUBMITTED, failures and cancels propagate as DependencyError without running anything, bad
// graphs are refused whole, close() settles waiting dependents.
import { afterAll, describe, expect, it } from 'vitest';
import { firstValueFrom, toArray } from 'rxjs';
import { ComputeTask, ConcurrentExecutionBackend, DependencyError, Session, SessionError, TaskCanceledError, type TaskEvent } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses } from '../helpers.js';

const mark = markProcesses();
afterAll(() => expectNoProcessesLeft(mark));

async function twoBackends() {
  const inline = await ConcurrentExecutionBackend.create({ name: 'inline', executor: 'inline' });
  const threads = await ConcurrentExecutionBackend.create({ name: 'threads', executor: 'threads', maxWorkers: 2 });
  return new Session({ backends: [inline, threads] });
}

describe('task graph in a session', () => {
  it('passes values across backends and batches: returnValue, stdout, in arguments as text', async () => {
    await using session = await twoBackends();
    const sim = new ComputeTask({ uid: 'sim', executable: '/bin/sh', arguments: ['-c', 'echo 3; echo 4'], backend: 'inline' });
    const parse = new ComputeTask({ uid: 'parse', function: (out: string) => out.trim().split('\n').map(Number), args: [sim], backend: 'threads' });
    const fan = [1, 2, 3].map(
      (k) => new ComputeTask({ uid: `fan${k}`, function: (xs: number[], o: { k: number }) => xs.reduce((a, b) => a + b, 0) * o.k, args: [parse], kwargs: { k }, backend: 'threads' }),
    );
    const sum = new ComputeTask({ uid: 'sum', function: (...xs: unknown[]) => (xs.slice(0, 3) as number[]).reduce((a, b) => a + b, 0), args: fan, backend: 'inline' });
    // submitted out of order, in one batch
    const futures = await session.submitTasks([sum, ...fan, parse, sim]);
    expect([sum.state, sum.pendingReason]).toEqual(['SUBMITTED', 'dependencies']);
    expect((await futures[0]).returnValue).toBe(7 * (1 + 2 + 3));
    expect(parse.returnValue).toEqual([3, 4]);
    // a later batch on a finished task, as a future, in an executable's arguments (stdout without its final newline)
    const echo = new ComputeTask({ uid: 'echo', executable: '/bin/echo', arguments: ['sum=', futures[0]!, sim] });
    const [f] = await session.submitTasks([echo]);
    expect((await f!).stdout).toBe('sum= 42 3\n4\n');
    expect(echo.toJSON()).toMatchObject({ dependsOn: [], attempts: 1, pendingReason: null });
    expect(session.getStatistics().counts.DONE).toBe(7);
  });

  it('shows the wait in events: SUBMITTED with pendingReason dependencies, then released', async () => {
    await using session = await twoBackends();
    const events: TaskEvent[] = [];
    session.events$.subscribe((e) => events.push(e));
    const up = new ComputeTask({ uid: 'up', executable: '/bin/sleep', arguments: ['0.2'] });
    const down = new ComputeTask({ uid: 'down', function: () => 'ran', dependsOn: [up] });
    await session.submitTasks([up, down]);
    const snapshots = firstValueFrom(session.task$(down).pipe(toArray()));
    await down;
    expect((await snapshots).map((s) => `${s.state}:${s.pendingReason}`)).toEqual(['SUBMITTED:dependencies', 'SUBMITTED:null', 'QUEUED:null', 'RUNNING:null', 'DONE:null']);
    const mine = events.filter((e) => e.uid === 'down').map((e) => `${e.previousState}>${e.state}:${e.task.pendingReason}`);
    expect(mine).toEqual(['NEW>SUBMITTED:dependencies', 'SUBMITTED>SUBMITTED:null', 'SUBMITTED>QUEUED:null', 'QUEUED>RUNNING:null', 'RUNNING>DONE:null']);
  });

  it('a failed or canceled dependency fails its dependents transitively with DependencyError; none runs', async () => {
    await using session = await twoBackends();
    const ran: string[] = [];
    const bad = new ComputeTask({ uid: 'bad', executable: '/bin/sh', arguments: ['-c', 'exit 3'] });
    const b = new ComputeTask({ uid: 'b', function: () => ran.push('b'), args: [bad], backend: 'inline' });
    const c = new ComputeTask({ uid: 'c', function: () => ran.push('c'), dependsOn: [b], backend: 'inline' });
    const slow = new ComputeTask({ uid: 'slow', executable: '/bin/sleep', arguments: ['30'] });
    const d = new ComputeTask({ uid: 'd', function: () => ran.push('d'), kwargs: { x: slow }, backend: 'inline' });
    const futures = await session.submitTasks([bad, b, c, slow, d]);
    await slow.cancel();
    const settled = await Promise.allSettled(futures);
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected', 'rejected']);
    expect(ran).toEqual([]);
    expect([b.state, c.state, d.state, b.attempts, c.attempts]).toEqual(['FAILED', 'FAILED', 'FAILED', 0, 0]);
    const cErr = c.exception as DependencyError;
    expect(cErr).toBeInstanceOf(DependencyError);
    expect([cErr.dependencyUid, cErr.message]).toEqual(['b', 'Task c: dependency b failed']);
    expect((cErr.cause as DependencyError).cause).toBe(bad.exception);
    expect(d.exception!.message).toBe('Task d: dependency slow was canceled');
    expect((d.exception as DependencyError).cause).toBeInstanceOf(TaskCanceledError);
    // a later dependent of a failed task fails at once
    const late = new ComputeTask({ uid: 'late', function: () => ran.push('late'), args: [bad] });
    const [lf] = await session.submitTasks([late]);
    await expect(lf).rejects.toBeInstanceOf(DependencyError);
    expect(ran).toEqual([]);
    expect(session.getStatistics().counts).toMatchObject({ FAILED: 5, CANCELED: 1, DONE: 0 });
  });

  it('a dependency whose backend shuts down fails its dependents', async () => {
    const other = await ConcurrentExecutionBackend.create({ name: 'other', executor: 'threads', maxWorkers: 1 });
    await using session = await twoBackends();
    session.addBackend(other);
    const stuck = new ComputeTask({ uid: 'stuck', function: () => new Promise((r) => setTimeout(r, 30_000)), backend: 'other' });
    const after = new ComputeTask({ uid: 'after', function: () => 1, args: [stuck], backend: 'inline' });
    const [f1, f2] = await session.submitTasks([stuck, after]);
    await new Promise((r) => setTimeout(r, 50));
    await other.shutdown();
    await expect(f1).rejects.toBeInstanceOf(TaskCanceledError);
    await expect(f2).rejects.toMatchObject({ name: 'DependencyError', dependencyUid: 'stuck' });
  });

  it("refuses a batch with a cycle, an unknown or another session's dependency, and submits nothing", async () => {
    await using session = await twoBackends();
    await using otherSession = await twoBackends();
    const a = new ComputeTask({ uid: 'cy.a', function: (x: unknown) => x });
    const b = new ComputeTask({ uid: 'cy.b', function: (x: unknown) => x, args: [a] });
    a.args.push(b);
    await expect(session.submitTasks([a, b])).rejects.toThrow('Dependency cycle: cy.a → cy.b → cy.a');
    const lone = new ComputeTask({ uid: 'lone', function: () => 1 });
    const needsLone = new ComputeTask({ uid: 'needs-lone', function: () => 1, dependsOn: [lone] });
    await expect(session.submitTasks([needsLone])).rejects.toThrow(/needs-lone depends on task lone, which is neither in this batch nor submitted/);
    const foreign = new ComputeTask({ uid: 'foreign', function: () => 1 });
    await otherSession.submitTasks([foreign]);
    const needsForeign = new ComputeTask({ uid: 'needs-foreign', function: () => 1, args: [foreign] });
    const plain = new ComputeTask({ uid: 'plain', function: () => 1 });
    await expect(session.submitTasks([plain, needsForeign])).rejects.toThrow(SessionError);
    await expect(session.submitTasks([plain, needsForeign])).rejects.toThrow(/of another session/);
    expect([a.state, b.state, needsLone.state, plain.state, needsForeign.state]).toEqual(['NEW', 'NEW', 'NEW', 'NEW', 'NEW']);
    expect(session.getStatistics().counts).toMatchObject({ SUBMITTED: 0, DONE: 0 });
  });

  it('close() with 1,000 waiting dependents settles every future and runs none of them', async () => {
    const session = await twoBackends();
    let ran = 0;
    const gate = new ComputeTask({ uid: 'gate', executable: '/bin/sleep', arguments: ['30'] });
    const waiting = Array.from({ length: 1000 }, (_, i) => new ComputeTask({ uid: `w${i}`, function: () => ran++, args: [gate], backend: 'inline' }));
    const futures = await session.submitTasks([gate, ...waiting]);
    expect(waiting.every((t) => t.pendingReason === 'dependencies')).toBe(true);
    await session.close();
    const settled = await Promise.allSettled(futures);
    expect(settled.every((s) => s.status === 'rejected')).toBe(true);
    expect(ran).toBe(0);
    expect(new Set(waiting.map((t) => t.state))).toEqual(new Set(['CANCELED']));
    expect(session.getStatistics().counts.CANCELED).toBe(1001);
    await new Promise((r) => setTimeout(r, 20));
    expect(ran).toBe(0);
  });

  it('cancel() on a waiting dependent ends it CANCELED and its own dependents FAILED', async () => {
    await using session = await twoBackends();
    const gate = new ComputeTask({ uid: 'g2', executable: '/bin/sleep', arguments: ['0.3'] });
    const mid = new ComputeTask({ uid: 'mid', function: () => 1, dependsOn: [gate] });
    const leaf = new ComputeTask({ uid: 'leaf', function: () => 1, dependsOn: [mid] });
    await session.submitTasks([gate, mid, leaf]);
    expect(await mid.cancel()).toBe(true);
    await session.waitTasks([gate, mid, leaf]);
    expect([gate.state, mid.state, leaf.state]).toEqual(['DONE', 'CANCELED', 'FAILED']);
    expect(leaf.exception!.message).toBe('Task leaf: dependency mid was canceled');
  });
});
