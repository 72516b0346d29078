// Nothing of a finished task stays reachable from the pool: once the caller drops its tasks, their
// results can be collected (the pool's queue used to keep up to 4,096 taken tasks).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { ComputeTask, ConcurrentExecutionBackend, Session } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses } from '../helpers.js';

const mark = markProcesses();
afterAll(() => expectNoProcessesLeft(mark));
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

describe('worker pool retention', () => {
  it('the results of finished tasks are collected once the caller drops them', async () => {
    await using session = new Session({ backends: [await ConcurrentExecutionBackend.create({ executor: 'threads', maxWorkers: 2 })] });
    const refs: WeakRef<object>[] = [];
    await (async () => {
      const tasks = Array.from({ length: 20 }, (_, i) => new ComputeTask({ function: (k: number) => ({ k, data: new Float64Array(1 << 16) }), args: [i] }));
      await session.submitTasks(tasks);
      await session.waitTasks(tasks);
      for (const t of tasks) refs.push(new WeakRef(t.returnValue as object));
      expect(tasks.every((t) => t.state === 'DONE')).toBe(true);
    })();
    for (let i = 0; i < 3; i++) {
      await new Promise((r) => setImmediate(r));
      gc();
    }
    expect(refs.filter((r) => r.deref() !== undefined).length).toBe(0);
  });
});
