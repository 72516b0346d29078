import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ComputeTask, ConcurrentExecutionBackend, Session, TaskExecutionError, type Executor } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses } from '../helpers.js';

const mark = markProcesses();
afterAll(() => expectNoProcessesLeft(mark));
const mathModule = fileURLToPath(new URL('../fixtures/math.mjs', import.meta.url));

describe.each<Executor>(['threads', 'processes'])('%s executor', (executor) => {
  const session = () => new Session({ backends: [new ConcurrentExecutionBackend({ executor, maxWorkers: 2 })] });

  it('runs sync and async functions, by source and by module reference', async () => {
    await using s = session();
    const tasks = [
      new ComputeTask({
        function: function piish(n: number) {
          let h = 0;
          for (let i = 0; i < n; i++) {
            const x = Math.random(),
              y = Math.random();
            if (x * x + y * y < 1) h++;
          }
          return (4 * h) / n;
        },
        args: [200_000],
      }),
      new ComputeTask({
        function: async (x: number) => {
          const { setTimeout: wait } = await import('node:timers/promises');
          await wait(5);
          return x + 1;
        },
        args: [1],
      }),
      new ComputeTask({ function: { module: mathModule }, args: [9] }),
      new ComputeTask({ function: { module: mathModule, export: 'slowDouble' }, args: [21] }),
      new ComputeTask({ function: (a: number, kw: { scale: number }) => a * kw.scale, args: [3], kwargs: { scale: 5 } }),
    ];
    const results = await Promise.all(await s.submitTasks(tasks));
    expect(results[0]!.returnValue as number).toBeCloseTo(3.14, 1);
    expect(results.slice(1).map((r) => r.returnValue)).toEqual([2, 81, 42, 15]);
  });

  // issue 12 changed this contract: captured values ship (they used to be a ReferenceError)
  it('a closure ships its captured values; a name that is neither captured nor global fails with a clear message', async () => {
    await using s = session();
    const factor = 3;
    const t = new ComputeTask({ function: (x: number) => x * factor, args: [2] });
    // @ts-expect-error: a name that exists nowhere
    const u = new ComputeTask({ function: () => notDefinedAnywhere + 1 });
    await s.submitTasks([t, u]);
    expect(await t).toMatchObject({ returnValue: 6 });
    await expect(u).rejects.toThrow(/notDefinedAnywhere is not defined.*captured variables shipped/);
    expect(u.exception).toBeInstanceOf(ReferenceError);
  });

  it('a worker that exits or crashes fails only its task; the pool replaces it', async () => {
    await using s = session();
    const ok = Array.from(
      { length: 30 },
      (_, i) =>
        new ComputeTask({
          function: async (x: number) => {
            await new Promise((r) => setTimeout(r, 20));
            return x;
          },
          args: [i],
        }),
    );
    const exits = new ComputeTask({ function: () => process.exit(3) });
    const crashes = new ComputeTask({
      function: () => {
        setTimeout(() => {
          throw new Error('async boom');
        });
        return new Promise(() => undefined);
      },
    });
    const all = [...ok.slice(0, 15), exits, crashes, ...ok.slice(15)];
    await s.submitTasks(all);
    await s.waitTasks(all, { timeout: 20_000 });
    expect(ok.every((t) => t.state === 'DONE')).toBe(true);
    expect(ok.map((t) => t.returnValue)).toEqual(ok.map((_, i) => i));
    expect(exits.state).toBe('FAILED');
    expect(exits.exception).toBeInstanceOf(TaskExecutionError);
    expect(exits.exception!.message).toMatch(/exited with code 3/);
    expect(crashes.state).toBe('FAILED');
    expect(crashes.exception!.message).toMatch(executor === 'threads' ? /async boom/ : /exited with code 1/);
    // the pool is whole again
    const after = new ComputeTask({ function: () => 'still here' });
    await s.submitTasks([after]);
    expect((await after).returnValue).toBe('still here');
  });

  it('a function that never returns is stopped by its timeout; others are unaffected', async () => {
    await using s = session();
    const stuck = new ComputeTask({
      function: () => {
        for (;;) {
          /* never returns */
        }
      },
      taskBackendSpecificKwargs: { timeout: 300 },
    });
    const fine = Array.from({ length: 10 }, (_, i) => new ComputeTask({ function: (x: number) => x * 10, args: [i] }));
    await s.submitTasks([stuck, ...fine]);
    await s.waitTasks([stuck, ...fine], { timeout: 15_000 });
    expect(stuck.state).toBe('FAILED');
    expect(stuck.exception!.message).toMatch(/timed out after 300 ms/);
    expect(fine.map((t) => t.returnValue)).toEqual(fine.map((_, i) => i * 10));
  });

  it('cancel of a running function terminates its worker', async () => {
    await using s = session();
    const spin = new ComputeTask({
      function: () => {
        for (;;) {
          /* spin */
        }
      },
    });
    const next = new ComputeTask({ function: () => 'next' });
    await s.submitTasks([spin]);
    await new Promise((r) => setTimeout(r, 200));
    expect(spin.state).toBe('RUNNING');
    expect(await spin.cancel()).toBe(true);
    expect(spin.state).toBe('CANCELED');
    await s.submitTasks([next]);
    expect((await next).returnValue).toBe('next');
  });

  it('a return value that cannot be sent back fails the task clearly', async () => {
    await using s = session();
    const t = new ComputeTask({ function: () => () => 1 });
    await s.submitTasks([t]);
    await expect(t).rejects.toThrow(/cannot be sent back/);
  });
});

describe('processes executor', () => {
  it('a worker process killed by a signal fails its task with the signal', async () => {
    await using s = new Session({ backends: [new ConcurrentExecutionBackend({ executor: 'processes', maxWorkers: 1 })] });
    const t = new ComputeTask({ function: () => process.kill(process.pid, 'SIGKILL') });
    const after = new ComputeTask({ function: () => process.pid });
    await s.submitTasks([t]);
    await expect(t).rejects.toThrow(/signal SIGKILL/);
    await s.submitTasks([after]);
    expect(typeof (await after).returnValue).toBe('number');
  });
});

describe('inline executor', () => {
  it('runs closures on the main loop and times out async work', async () => {
    await using s = new Session({ backends: [new ConcurrentExecutionBackend({ executor: 'inline' })] });
    const factor = 3;
    const t = new ComputeTask({ function: (x: number) => x * factor, args: [2] });
    const never = new ComputeTask({ function: () => new Promise(() => undefined), taskBackendSpecificKwargs: { timeout: 100 } });
    await s.submitTasks([t, never]);
    expect((await t).returnValue).toBe(6);
    await expect(never).rejects.toThrow(/timed out after 100 ms/);
  });
});
