// Futures as dependencies, resolved at submit without registering every future when it is made:
// a live future (pending) and a settled one (DONE or FAILED) of this session name their task; another
// session's future, or a promise submitTasks did not return, does not.
import { afterAll, describe, expect, it } from 'vitest';
import { ComputeTask, ConcurrentExecutionBackend, DependencyError, Session, SessionError } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses } from '../helpers.js';

const mark = markProcesses();
afterAll(() => expectNoProcessesLeft(mark));

const inlineSession = async () => new Session({ backends: [await ConcurrentExecutionBackend.create({ executor: 'inline' })] });
const slow = (v: number, ms: number) => new Promise<number>((r) => setTimeout(() => r(v), ms));

describe('futures as dependencies', () => {
  it('a pending future of an earlier batch: the dependent waits for it and gets its value', async () => {
    await using session = await inlineSession();
    const [f] = await session.submitTasks([new ComputeTask({ uid: 'a', function: slow, args: [5, 100] })]);
    const b = new ComputeTask({ uid: 'b', function: (x: number) => x * 2, args: [f], dependsOn: [f!] });
    await session.submitTasks([b]);
    expect([b.state, b.pendingReason]).toEqual(['SUBMITTED', 'dependencies']);
    expect((await b).returnValue).toBe(10);
    expect(b.toJSON().dependsOn).toEqual(['a']);
  });

  it('a settled future: DONE passes its value, FAILED fails the dependent with a DependencyError naming it', async () => {
    await using session = await inlineSession();
    const [ok, bad] = await session.submitTasks([
      new ComputeTask({ uid: 'ok', function: () => 3 }),
      new ComputeTask({
        uid: 'bad',
        function: () => {
          throw new Error('boom');
        },
      }),
    ]);
    await Promise.allSettled([ok, bad]);
    const useOk = new ComputeTask({ uid: 'use-ok', function: (x: number) => x + 1, args: [ok] });
    const useBad = new ComputeTask({ uid: 'use-bad', function: () => 'never', dependsOn: [bad!] });
    await session.submitTasks([useOk, useBad]);
    await session.waitTasks([useOk, useBad]);
    expect(useOk.returnValue).toBe(4);
    expect(useBad.state).toBe('FAILED');
    expect(useBad.exception).toBeInstanceOf(DependencyError);
    expect((useBad.exception as DependencyError).dependencyUid).toBe('bad');
    expect(useBad.attempts).toBe(0);
  });

  it("another session's future, live or settled, is a SessionError naming it; nothing of the batch is submitted", async () => {
    await using one = await inlineSession();
    await using two = await inlineSession();
    const [settled, live] = await one.submitTasks([new ComputeTask({ uid: 'x1', function: () => 1 }), new ComputeTask({ uid: 'x2', function: slow, args: [1, 300] })]);
    await settled;
    for (const f of [settled!, live!]) {
      const other = new ComputeTask({ uid: 'other', function: () => 0 });
      const t = new ComputeTask({ uid: 'dep', function: () => 0, dependsOn: [f] });
      await expect(two.submitTasks([other, t])).rejects.toThrow(SessionError);
      await expect(two.submitTasks([other, t])).rejects.toThrow(/another session/);
      expect(other.state).toBe('NEW');
    }
    await live;
  });

  it('a promise submitTasks did not return: a SessionError in dependsOn, a plain value in args', async () => {
    await using session = await inlineSession();
    const stray = Promise.resolve({ uid: 'fake', state: 'DONE' });
    await expect(session.submitTasks([new ComputeTask({ function: () => 0, dependsOn: [stray as never] })])).rejects.toThrow(/neither a task nor a future/);
    const pending = new Promise<number>(() => undefined);
    const t = new ComputeTask({ function: (p: unknown) => typeof p, args: [pending] });
    await session.submitTasks([t]);
    expect((await t).returnValue).toBe('object');
  });
});
