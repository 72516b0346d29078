// Issue 12 §1 on the distributed backend (JSON transport, real redis-server and worker processes):
// closures ship, what JSON would change is refused at submit, custom errors keep their shape.
import { afterAll, describe, expect, it } from 'vitest';
import { ComputeTask, DistributedExecutionBackend, Session, TaskValidationError } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses } from '../helpers.js';

const mark = markProcesses();
afterAll(() => expectNoProcessesLeft(mark, 15_000));

function estimatePi(n: number): number {
  let inside = 0;
  for (let i = 0; i < n; i++) {
    const x = Math.random();
    const y = Math.random();
    if (x * x + y * y <= 1) inside++;
  }
  return (4 * inside) / n;
}

class ValidationFailure extends Error {
  code = 'E_VALID';
  details = { field: 'x', limits: [1, 2] };
  constructor(message: string) {
    super(message, { cause: new RangeError('inner cause') });
    this.name = 'ValidationFailure';
  }
}

describe('DistributedExecutionBackend shipping', () => {
  it('closures ship, JSON-changing captures are refused at submit, custom errors and odd throws keep their shape', async () => {
    const backend = await DistributedExecutionBackend.create({ resources: { nWorkers: 1, concurrency: 4 } });
    await using s = new Session({ backends: [backend] });
    const n = 20_000;
    const when = new Date(0);
    const refused = new ComputeTask({ uid: 'dated', function: () => when.getTime() });
    await expect(s.submitTasks([refused])).rejects.toThrow(TaskValidationError);
    await expect(s.submitTasks([new ComputeTask({ uid: 'dated2', function: () => when.getTime() })])).rejects.toThrow(/Task dated2: .*"when" cannot travel as JSON unchanged/);
    const tasks = [
      new ComputeTask({ function: () => estimatePi(n) }),
      new ComputeTask({
        function: () => {
          throw new ValidationFailure('bad input');
        },
      }),
      new ComputeTask({
        function: () => {
          throw Object.create(null);
        },
      }),
      new ComputeTask({ function: (x: number) => x + 1, args: [1] }),
    ];
    await s.submitTasks(tasks);
    await s.waitTasks(tasks, { timeout: 60_000 });
    expect(tasks.map((t) => t.state)).toEqual(['DONE', 'FAILED', 'FAILED', 'DONE']);
    expect(tasks[0]!.returnValue as number).toBeGreaterThan(3);
    const e = tasks[1]!.exception as ValidationFailure;
    expect(e.name).toBe('ValidationFailure');
    expect(e.message).toBe('bad input');
    expect(e.stack).toMatch(/^ValidationFailure: bad input\n\s+at /);
    expect(e.code).toBe('E_VALID');
    expect(e.details).toEqual({ field: 'x', limits: [1, 2] });
    expect(e.cause).toBeInstanceOf(RangeError);
    expect(tasks[2]!.exception!.message).toMatch(/^Non-error thrown: \[Object: null prototype\]/);
    expect(tasks[3]!.returnValue).toBe(2);
  }, 90_000);
});
