// A large value made on a worker thread and consumed by a dependent on a thread pool travels as the
// producer's serialised bytes in shared memory: the host reads it for returnValue but does not
// serialise it again for the consumer (seen here: a change made on the host afterwards does not
// travel, the consumer gets what the producer returned). Small values and other executors as before.
import { afterAll, describe, expect, it } from 'vitest';
import { ComputeTask, ConcurrentExecutionBackend, Session } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses } from '../helpers.js';

const mark = markProcesses();
afterAll(() => expectNoProcessesLeft(mark));

describe('values passed between tasks on threads', () => {
  it('a large typed array and a large array reach the consumer as the producer returned them', async () => {
    await using session = new Session({ backends: [await ConcurrentExecutionBackend.create({ executor: 'threads', maxWorkers: 2 })] });
    const floats = new ComputeTask({ uid: 'floats', function: () => new Float64Array(1 << 14).fill(1.5) }); // 128 KiB
    const rows = new ComputeTask({ uid: 'rows', function: () => Array.from({ length: 5000 }, (_, i) => ({ id: i, v: i * 2 })) });
    await Promise.all(await session.submitTasks([floats, rows]));
    expect(floats.returnValue).toBeInstanceOf(Float64Array);
    expect((floats.returnValue as Float64Array).length).toBe(1 << 14);
    // changed on the host after the fact: the consumers below still get what the producers returned
    (floats.returnValue as Float64Array)[0] = 99;
    (rows.returnValue as Array<{ v: number }>)[0]!.v = 99;
    const sum = new ComputeTask({
      uid: 'sum',
      function: (a: Float64Array, o: { rows: Array<{ v: number }> }) => [a[0], a.reduce((x, y) => x + y, 0), o.rows[0]!.v, o.rows.length],
      args: [floats],
      kwargs: { rows },
    });
    const [f] = await session.submitTasks([sum]);
    expect((await f!).returnValue).toEqual([1.5, 1.5 * (1 << 14), 0, 5000]);
  });

  it('small values, and consumers on inline or processes, see the host value as before', async () => {
    await using session = new Session({
      backends: [
        await ConcurrentExecutionBackend.create({ name: 'threads', executor: 'threads', maxWorkers: 1 }),
        await ConcurrentExecutionBackend.create({ name: 'inline', executor: 'inline' }),
        await ConcurrentExecutionBackend.create({ name: 'processes', executor: 'processes', maxWorkers: 1 }),
      ],
    });
    const small = new ComputeTask({ function: () => [1, 2, 3], backend: 'threads' });
    const big = new ComputeTask({ function: () => new Float64Array(1 << 14).fill(2), backend: 'threads' });
    await Promise.all(await session.submitTasks([small, big]));
    (small.returnValue as number[])[0] = 7;
    (big.returnValue as Float64Array)[0] = 7;
    const onThreads = new ComputeTask({ function: (a: number[]) => a[0], args: [small], backend: 'threads' });
    const onInline = new ComputeTask({ function: (a: Float64Array) => a[0], args: [big], backend: 'inline' });
    const onProcesses = new ComputeTask({ function: (a: Float64Array) => [a[0], a.length], args: [big], backend: 'processes' });
    const results = await Promise.all(await session.submitTasks([onThreads, onInline, onProcesses]));
    expect(results.map((r) => r.returnValue)).toEqual([7, 7, [7, 1 << 14]]);
  });
});
