// Issue 12 §1 / 11.2: any callable ships (closures, captured functions), what cannot ship is a
// TaskValidationError at submit, errors keep their shape, odd thrown values fail their task alone.
import { afterAll, describe, expect, it } from 'vitest';
import { ComputeTask, ConcurrentExecutionBackend, HpcExecutionBackend, Session, TaskValidationError, type Executor } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses } from '../helpers.js';

const mark = markProcesses();
afterAll(() => expectNoProcessesLeft(mark));

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

const fib = (k: number): number => (k < 2 ? k : fib(k - 1) + fib(k - 2));

const _odd: unknown[] = [
  Object.create(null),
  undefined,
  Symbol('odd'),
  {
    toString() {
      throw new Error('no');
    },
  },
];

async function sessionFor(executor: Executor | 'hpc'): Promise<Session> {
  const backend = executor === 'hpc' ? await HpcExecutionBackend.create({ nodes: [{ hostname: 'node-0', cpus: 4, gpus: [] }] }) : await ConcurrentExecutionBackend.create({ executor, maxWorkers: 1 });
  return new Session({ backends: [backend] });
}

describe.each(['threads', 'processes', 'hpc'] as const)('shipping to %s', (executor) => {
  it('a closure ships its captured values and the functions it calls (recursively, recursion included)', async () => {
    await using s = await sessionFor(executor);
    const n = 20_000;
    const settings = { base: 10, tags: ['a', 'b'] };
    const tasks = [
      new ComputeTask({ function: () => estimatePi(n) }),
      new ComputeTask({ function: (k: number) => fib(k) + settings.base + settings.tags.length, args: [10] }),
      new ComputeTask({
        function: async () => {
          const { sep } = await import('node:path');
          return sep + n;
        },
      }),
    ];
    await s.submitTasks(tasks);
    await s.waitTasks(tasks);
    expect(tasks.map((t) => t.state)).toEqual(['DONE', 'DONE', 'DONE']);
    expect(tasks[0]!.returnValue as number).toBeGreaterThan(3);
    expect(tasks[0]!.returnValue as number).toBeLessThan(3.3);
    expect(tasks[1]!.returnValue).toBe(55 + 10 + 2);
    expect(tasks[2]!.returnValue).toBe('/20000');
  });

  it('a custom error class keeps name, message, stack, cause and own enumerable properties', async () => {
    await using s = await sessionFor(executor);
    const t = new ComputeTask({
      function: () => {
        throw new ValidationFailure('bad input');
      },
    });
    await s.submitTasks([t]);
    await s.waitTasks([t]);
    const e = t.exception as ValidationFailure;
    expect(t.state).toBe('FAILED');
    expect(e.name).toBe('ValidationFailure');
    expect(e.message).toBe('bad input');
    expect(e.stack).toMatch(/^ValidationFailure: bad input\n\s+at /);
    expect(e.code).toBe('E_VALID');
    expect(e.details).toEqual({ field: 'x', limits: [1, 2] });
    expect(e.cause).toBeInstanceOf(RangeError);
    expect((e.cause as Error).message).toBe('inner cause');
  });

  it('native, bound and uncloneable captures are a TaskValidationError at submit naming task and variable', async () => {
    await using s = await sessionFor(executor);
    const add = (a: number, b: number) => a + b;
    const handle = new AbortController();
    const cases: Array<[ComputeTask, RegExp]> = [
      [new ComputeTask({ uid: 'native', function: Math.max, args: [1, 2] }), /Task native: .*native or bound.*Instead: /],
      [new ComputeTask({ uid: 'bound', function: add.bind(null, 1), args: [2] }), /Task bound: .*native or bound/],
      [
        new ComputeTask({ uid: 'uncloneable', function: () => handle.signal.aborted }),
        /Task uncloneable: .*captured variable "handle" cannot be shipped: handle is a AbortController instance, which would arrive as a plain object.*Instead: pass it as an argument/,
      ],
      [new ComputeTask({ uid: 'captured-native', function: (a: number) => add(a, 1) + pick(a, 2), args: [1] }), /captured variable "pick" is a native or bound function/],
    ];
    for (const [task, message] of cases) {
      const err = await s.submitTasks([task]).then(
        () => null,
        (e: unknown) => e as TaskValidationError,
      );
      expect(err).toBeInstanceOf(TaskValidationError);
      expect(err!.message).toMatch(message);
      expect(err!.taskUid).toBe(task.uid);
      expect(task.state).toBe('NEW');
    }
  });

  it('a captured variable shadowed by a local of the same name is not an error', async () => {
    await using s = await sessionFor(executor);
    const handle = new AbortController();
    void handle;
    const t = new ComputeTask({
      function: (x: number) => {
        const handle = x * 2;
        return handle;
      },
      args: [4],
    });
    await s.submitTasks([t]);
    await s.waitTasks([t]);
    expect(t.returnValue).toBe(8);
  });
});

const pick = Math.max;

describe('JSON transports refuse what JSON would change', () => {
  it('HPC ranks: a captured Date, undefined or NaN is a TaskValidationError naming the variable', async () => {
    await using s = await sessionFor('hpc');
    const when = new Date(0);
    const holes = { a: [1, undefined] };
    const ratio = NaN;
    const cases: Array<[ComputeTask, RegExp]> = [
      [new ComputeTask({ uid: 'date', function: () => when.getTime() }), /Task date: .*"when" cannot travel as JSON unchanged.*Date/],
      [new ComputeTask({ uid: 'holes', function: () => holes.a.length }), /"holes" cannot travel as JSON unchanged \(holes\.a\[1\] is undefined/],
      [new ComputeTask({ uid: 'nan', function: () => ratio }), /"ratio" .*NaN/],
    ];
    for (const [task, message] of cases) {
      await expect(s.submitTasks([task])).rejects.toThrow(message);
    }
    // the same captures ship to a worker thread (structured clone keeps them)
    await using local = await sessionFor('threads');
    const t = new ComputeTask({ function: () => [when.getTime(), holes.a.length, Number.isNaN(ratio)] });
    await local.submitTasks([t]);
    expect((await t).returnValue).toEqual([0, 2, true]);
  });
});

describe.each(['inline', 'threads', 'processes'] as const)('odd thrown values on %s', (executor) => {
  it('each becomes an error of its task alone; innocent tasks of the same batch complete', async () => {
    await using s = await sessionFor(executor);
    const tasks: ComputeTask[] = [];
    for (let i = 0; i < 12; i++) {
      // odd values are made inside the function: they cannot be captured (a symbol does not clone)
      const kind = i % 3 === 0 ? (i / 3) % 4 : -1;
      tasks.push(
        new ComputeTask({
          function: (k: number, x: number) => {
            if (k === 0) throw Object.create(null);
            if (k === 1) throw undefined;
            if (k === 2) throw Symbol('odd');
            if (k === 3)
              throw {
                toString() {
                  throw new Error('no');
                },
              };
            return x * 2;
          },
          args: [kind, i],
        }),
      );
    }
    await s.submitTasks(tasks);
    await s.waitTasks(tasks);
    tasks.forEach((t, i) => {
      if (i % 3 === 0) {
        expect(t.state).toBe('FAILED');
        expect(t.exception).toBeInstanceOf(Error);
        expect(t.exception!.message).toMatch(/^Non-error thrown: /);
      } else {
        expect(t.state).toBe('DONE');
        expect(t.returnValue).toBe(i * 2);
      }
    });
    expect(tasks[0]!.exception!.message).toContain('null prototype');
    // the host goes on: a task after them runs
    const after = new ComputeTask({ function: () => 'still here' });
    await s.submitTasks([after]);
    expect((await after).returnValue).toBe('still here');
  });
});

describe.each(['threads', 'processes'] as const)('arguments that cannot be sent on %s', (executor) => {
  it('fail their own task; the other tasks of the batch, and later ones with the same function, run', async () => {
    await using s = await sessionFor(executor);
    const double = (x: unknown) => (typeof x === 'number' ? x * 2 : 'odd');
    const tasks = [1, () => 1, 3].map((x) => new ComputeTask({ function: double, args: [x] }));
    await s.submitTasks(tasks);
    await s.waitTasks(tasks);
    expect(tasks.map((t) => t.state)).toEqual(['DONE', 'FAILED', 'DONE']);
    expect(tasks[1]!.exception!.message).toMatch(/cannot send it to the worker/);
    const later = new ComputeTask({ function: double, args: [5] });
    await s.submitTasks([later]);
    expect((await later).returnValue).toBe(10);
  });
});

describe('inline runs any closure as it is', () => {
  it('native, bound and uncloneable captures run', async () => {
    await using s = await sessionFor('inline');
    const handle = new AbortController();
    const tasks = [
      new ComputeTask({ function: Math.max, args: [1, 5] }),
      new ComputeTask({ function: ((a: number, b: number) => a + b).bind(null, 1), args: [2] }),
      new ComputeTask({ function: () => handle.signal.aborted }),
    ];
    await s.submitTasks(tasks);
    await s.waitTasks(tasks);
    expect(tasks.map((t) => t.returnValue)).toEqual([5, 3, false]);
  });
});

describe('the environment', () => {
  it('worker threads see process.env as it is when the function runs', async () => {
    await using s = await sessionFor('threads');
    const first = new ComputeTask({ function: () => 1 });
    await s.submitTasks([first]);
    await first;
    process.env.RHAPSODY_SHIPPING_PROBE = 'set after start';
    const t = new ComputeTask({ function: () => process.env.RHAPSODY_SHIPPING_PROBE });
    await s.submitTasks([t]);
    expect((await t).returnValue).toBe('set after start');
    delete process.env.RHAPSODY_SHIPPING_PROBE;
  });
});
