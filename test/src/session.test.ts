import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { afterAll, describe, expect, it } from 'vitest';
import { AITask, ComputeTask, ConcurrentExecutionBackend, Session, SessionError, TaskCanceledError, TaskExecutionError, TimeoutError, type TaskEvent } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses } from '../helpers.js';

const mark = markProcesses();
afterAll(() => expectNoProcessesLeft(mark));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('routing', () => {
  it('routes by explicit name, else to the first compatible backend', async () => {
    const a = new ConcurrentExecutionBackend({ name: 'a', executor: 'inline' });
    const b = new ConcurrentExecutionBackend({ name: 'b', executor: 'inline' });
    await using session = new Session({ backends: [a, b] });
    const t1 = new ComputeTask({ function: () => 1 });
    const t2 = new ComputeTask({ function: () => 2, backend: 'b' });
    await session.submitTasks([t1, t2]);
    await Promise.all([t1, t2]);
    expect([t1.backend, t2.backend]).toEqual(['a', 'b']);
    expect(a.state).toBe('RUNNING');
  });

  it('rejects the whole batch on a routing error and submits nothing', async () => {
    await using session = new Session({ backends: [new ConcurrentExecutionBackend({ executor: 'inline' })] });
    const good = new ComputeTask({ function: () => 1 });
    const unknown = new ComputeTask({ function: () => 1, backend: 'nope' });
    await expect(session.submitTasks([good, unknown])).rejects.toThrow(SessionError);
    expect(good.state).toBe('NEW');
    const ai = new AITask({ prompt: 'p', model: 'm' });
    await expect(session.submitTasks([good, ai])).rejects.toThrow(/no compatible inference backend/);
    const incompatible = new AITask({ prompt: 'p', backend: 'concurrent' });
    await expect(session.submitTasks([incompatible])).rejects.toThrow(/cannot run a ai task/);
    const dup = new ComputeTask({ uid: 'same', function: () => 1 });
    const dup2 = new ComputeTask({ uid: 'same', function: () => 1 });
    await expect(session.submitTasks([dup, dup2])).rejects.toThrow(/Duplicate task uid same/);
    expect(session.getStatistics().counts).toMatchObject({ SUBMITTED: 0, DONE: 0 });
    await session.submitTasks([good]);
    await expect(session.submitTasks([good])).rejects.toThrow(/already submitted/);
    await good;
  });

  it('refuses work once closed, and close is idempotent', async () => {
    const session = new Session({ backends: [new ConcurrentExecutionBackend({ executor: 'inline' })] });
    await Promise.all([session.close(), session.close()]);
    await session.close();
    expect(session.state).toBe('CLOSED');
    await expect(session.submitTasks([new ComputeTask({ function: () => 1 })])).rejects.toThrow(SessionError);
  });

  it('rejects a backend name used twice', () => {
    const s = new Session();
    s.addBackend(new ConcurrentExecutionBackend({ name: 'x', executor: 'inline' }));
    expect(() => s.addBackend(new ConcurrentExecutionBackend({ name: 'x', executor: 'inline' }))).toThrow(SessionError);
    return s.close();
  });
});

describe('wait modes', () => {
  const backend = () => new ConcurrentExecutionBackend({ executor: 'threads', maxWorkers: 2 });

  it('waitTasks collects all without raising; states tell', async () => {
    await using session = new Session({ backends: [backend()] });
    const tasks = [
      new ComputeTask({ function: (x: number) => x * 2, args: [21] }),
      new ComputeTask({ executable: '/bin/sh', arguments: ['-c', 'echo oops >&2; exit 4'] }),
      new ComputeTask({
        function: () => {
          throw new RangeError('bad range');
        },
      }),
    ];
    await session.submitTasks(tasks);
    const same = await session.waitTasks(tasks, { timeout: 10_000 });
    expect(same).toEqual(tasks);
    expect(tasks.map((t) => t.state)).toEqual(['DONE', 'FAILED', 'FAILED']);
    expect(tasks[0]!.returnValue).toBe(42);
    expect(tasks[0]!.stdout).toBe('42');
    expect(tasks[1]!.exitCode).toBe(4);
    expect(tasks[1]!.stderr).toBe('oops\n');
    expect(tasks[2]!.exception).toBeInstanceOf(RangeError);
  });

  it('Promise.all fails fast with the original error; allSettled collects', async () => {
    await using session = new Session({ backends: [backend()] });
    const tasks = [
      new ComputeTask({
        function: async () => {
          await new Promise((r) => setTimeout(r, 1500));
          return 'slow';
        },
      }),
      new ComputeTask({
        function: () => {
          throw new TypeError('fast failure');
        },
      }),
      // fails after the function (a bare /bin/false can fail first: spawning is faster than a worker's start)
      new ComputeTask({ executable: '/bin/sh', arguments: ['-c', 'sleep 1; exit 1'] }),
    ];
    const futures = await session.submitTasks(tasks);
    await expect(Promise.all(futures)).rejects.toThrow(TypeError);
    expect(tasks[0]!.state).not.toBe('DONE'); // failed fast, before the slow task finished
    const results = await Promise.allSettled(futures);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
    const exe = (results[2] as PromiseRejectedResult).reason;
    expect(exe).toBeInstanceOf(TaskExecutionError);
    expect(exe).toMatchObject({ taskUid: tasks[2]!.uid, exitCode: 1 });
  });

  it('await future / await task resolve to a plain non-thenable result', async () => {
    await using session = new Session({ backends: [backend()] });
    const a = new ComputeTask({ executable: '/bin/echo', arguments: ['a'] });
    const b = new ComputeTask({ function: () => ({ nested: [1, 2] }) });
    const [fa] = await session.submitTasks([a, b]);
    const ra = await fa!;
    const rb = await b;
    expect(ra).toMatchObject({ uid: a.uid, state: 'DONE', stdout: 'a\n', exitCode: 0, backend: 'concurrent' });
    expect(rb.returnValue).toEqual({ nested: [1, 2] });
    expect('then' in rb).toBe(false);
  });

  it('waitTasks rejects TimeoutError without disturbing the tasks', async () => {
    await using session = new Session({ backends: [backend()] });
    // the worker threads up first (backend start no longer hides their start-up: spawners start fast)
    const warm = new ComputeTask({ function: () => 0 });
    await session.submitTasks([warm]);
    await warm;
    const quick = new ComputeTask({ function: () => 1 });
    const slow = new ComputeTask({
      function: async () => {
        await new Promise((r) => setTimeout(r, 400));
        return 'late';
      },
    });
    await session.submitTasks([quick, slow]);
    await expect(session.waitTasks([quick, slow], { timeout: 100 })).rejects.toThrow(new TimeoutError('Timeout after 100 ms: 1/2 tasks completed'));
    expect(slow.state).toBe('RUNNING');
    expect((await slow).returnValue).toBe('late');
  });

  it('waitTasks honours an abort signal and failFast', async () => {
    await using session = new Session({ backends: [backend()] });
    const slow = new ComputeTask({
      function: async () => {
        await new Promise((r) => setTimeout(r, 300));
        return 1;
      },
    });
    const bad = new ComputeTask({
      function: () => {
        throw new Error('first failure');
      },
    });
    await session.submitTasks([slow, bad]);
    await expect(session.waitTasks([slow, bad], { failFast: true })).rejects.toThrow('first failure');
    const ac = new AbortController();
    const waiting = session.waitTasks([slow], { signal: ac.signal });
    ac.abort(new Error('stop waiting'));
    await expect(waiting).rejects.toThrow('stop waiting');
    await slow;
  });

  it('waitTasks on an unsubmitted task is a SessionError', async () => {
    await using session = new Session({ backends: [backend()] });
    await expect(session.waitTasks([new ComputeTask({ function: () => 1 })])).rejects.toThrow(/no bound future/);
  });
});

describe('statistics', () => {
  it('counts terminal states and averages latencies in ms', async () => {
    await using session = new Session({ backends: [new ConcurrentExecutionBackend({ executor: 'inline' })] });
    const tasks = [
      new ComputeTask({
        function: async () => {
          await sleep(50);
          return 1;
        },
      }),
      new ComputeTask({
        function: () => {
          throw new Error('x');
        },
      }),
    ];
    await session.submitTasks(tasks);
    await session.waitTasks(tasks);
    const stats = session.getStatistics();
    expect(stats.counts).toMatchObject({ DONE: 1, FAILED: 1, CANCELED: 0, RUNNING: 0, QUEUED: 0 });
    expect(stats.summary.avgTotal).toBeGreaterThan(20);
    expect(stats.summary.avgExecution).toBeGreaterThan(20);
    expect(stats.summary.avgQueue).toBeGreaterThanOrEqual(0);
  });
});

describe('streams', () => {
  it('events$ carries every state change in order', async () => {
    await using session = new Session({ backends: [new ConcurrentExecutionBackend({ executor: 'inline' })] });
    const seen: TaskEvent[] = [];
    const sub = session.events$.subscribe((e) => seen.push(e));
    const t = new ComputeTask({ function: () => 7 });
    await session.submitTasks([t]);
    await t;
    sub.unsubscribe();
    expect(seen.map((e) => `${e.previousState}>${e.state}`)).toEqual(['NEW>SUBMITTED', 'SUBMITTED>QUEUED', 'QUEUED>RUNNING', 'RUNNING>DONE']);
    expect(seen[3]!.task).toMatchObject({ uid: t.uid, returnValue: 7, state: 'DONE' });
  });

  it('task$ replays the current snapshot and completes after the terminal one', async () => {
    await using session = new Session({ backends: [new ConcurrentExecutionBackend({ executor: 'threads', maxWorkers: 1 })] });
    const t = new ComputeTask({
      function: async () => {
        await new Promise((r) => setTimeout(r, 100));
        return 'x';
      },
    });
    await session.submitTasks([t]);
    const states = lastValueFrom(session.task$(t).pipe(toArray()));
    const late = await firstValueFrom(session.task$(t.uid));
    expect(['SUBMITTED', 'QUEUED', 'RUNNING']).toContain(late.state);
    expect((await states).map((s) => s.state).at(-1)).toBe('DONE');
    const after = await lastValueFrom(session.task$(t).pipe(toArray()));
    expect(after.map((s) => s.state)).toEqual(['DONE']);
  });

  it('backend.state$ and session.state$ replay and complete on close', async () => {
    const backend = await ConcurrentExecutionBackend.create({ executor: 'inline' });
    const session = new Session({ backends: [backend] });
    expect((await firstValueFrom(backend.state$)).state).toBe('RUNNING');
    const backendStates = lastValueFrom(backend.state$.pipe(toArray()));
    const sessionStates = lastValueFrom(session.state$.pipe(toArray()));
    await session.close();
    expect((await backendStates).map((s) => s.phase ?? s.state)).toEqual(['active', 'stopping', 'SHUTDOWN']);
    expect((await sessionStates).map((s) => s.state)).toEqual(['OPEN', 'CLOSING', 'CLOSED']);
    expect(backend.state).toBe('SHUTDOWN');
  });
});

describe('cancellation', () => {
  it('cancelTasks cancels queued tasks; the running one is killed, others still run', async () => {
    await using session = new Session({ backends: [new ConcurrentExecutionBackend({ executor: 'threads', maxWorkers: 1 })] });
    const running = new ComputeTask({ function: async () => new Promise((r) => setTimeout(() => r('finished'), 400)) });
    const queued = Array.from({ length: 3 }, () => new ComputeTask({ executable: '/bin/sleep', arguments: ['5'] }));
    const bystander = new ComputeTask({ function: () => 'unaffected' });
    await session.submitTasks([running, ...queued]);
    const canceled = await session.cancelTasks(queued);
    expect(canceled).toBe(3);
    for (const t of queued) {
      expect(t.state).toBe('CANCELED');
      await expect(t).rejects.toBeInstanceOf(TaskCanceledError);
    }
    await session.submitTasks([bystander]);
    expect((await running).returnValue).toBe('finished');
    expect((await bystander).returnValue).toBe('unaffected');
    expect(await running.cancel()).toBe(false); // already terminal
  });
});

describe('multiple backends and close', () => {
  it('close() with tasks in flight settles every future as canceled and leaves nothing running', async () => {
    const threads = new ConcurrentExecutionBackend({ name: 'threads', executor: 'threads', maxWorkers: 2 });
    const procs = new ConcurrentExecutionBackend({ name: 'procs', executor: 'processes', maxWorkers: 2 });
    const session = new Session({ backends: [threads, procs] });
    const tasks = [
      new ComputeTask({
        function: () => {
          for (;;) {
            /* spin */
          }
        },
        backend: 'threads',
      }),
      new ComputeTask({ function: async () => new Promise(() => undefined), backend: 'procs' }),
      new ComputeTask({ executable: '/bin/sh', arguments: ['-c', 'sleep 30 & sleep 30; wait'] }),
      ...Array.from({ length: 20 }, () => new ComputeTask({ executable: '/bin/sleep', arguments: ['30'], backend: 'procs' })),
    ];
    const futures = await session.submitTasks(tasks);
    await sleep(300);
    await session.close();
    const results = await Promise.allSettled(futures);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(TaskCanceledError);
    }
    expect(tasks.every((t) => t.state === 'CANCELED')).toBe(true);
    expect(session.getStatistics().counts.CANCELED).toBe(tasks.length);
    await expectNoProcessesLeft(mark);
  });
});
