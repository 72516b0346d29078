// A function task's stdout is the text form of its result; for an object result it is made when first
// read (JSON of a large result can cost more than the task), once, and it reads the same everywhere.
import { describe, expect, it } from 'vitest';
import { ComputeTask, ConcurrentExecutionBackend, Session } from '../../src/index.js';

describe('stdout of a function task', () => {
  it('an object result is turned into text only when stdout is read, and once', async () => {
    await using session = new Session({ backends: [await ConcurrentExecutionBackend.create({ executor: 'inline' })] });
    let made = 0;
    const result = {
      n: 1,
      toJSON() {
        made++;
        return { n: this.n };
      },
    };
    const t = new ComputeTask({ function: () => result });
    const [f] = await session.submitTasks([t]);
    const settled = await f!;
    expect(t.state).toBe('DONE');
    expect(made).toBe(0);
    expect(settled.stdout).toBe('{"n":1}');
    expect(t.stdout).toBe('{"n":1}');
    expect(t.toJSON().stdout).toBe('{"n":1}');
    expect(made).toBe(1);
    expect(settled).toEqual({ uid: t.uid, state: 'DONE', backend: t.backend, stdout: '{"n":1}', stderr: null, exitCode: null, returnValue: result, response: undefined });
  });

  it.each(['inline', 'threads'] as const)('on %s: primitives, strings, undefined and objects', async (executor) => {
    await using session = new Session({ backends: [await ConcurrentExecutionBackend.create({ executor })] });
    const tasks = [() => 42, () => 'txt', () => undefined, () => ({ a: [1, 2] }), () => null].map((fn) => new ComputeTask({ function: fn }));
    const results = await Promise.all(await session.submitTasks(tasks));
    expect(tasks.map((t) => t.stdout)).toEqual(['42', 'txt', '', '{"a":[1,2]}', 'null']);
    expect(results.map((r) => r.stdout)).toEqual(['42', 'txt', '', '{"a":[1,2]}', 'null']);
  });
});
