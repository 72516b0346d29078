// `function: { python: 'pkg.module:fn' }` is a valid task; only DaskExecutionBackend runs it, the
// other execution backends refuse it at submit with a SessionError naming the task.
import { describe, expect, it } from 'vitest';
import { ComputeTask, ConcurrentExecutionBackend, DistributedExecutionBackend, HpcExecutionBackend, SessionError, TaskValidationError } from '../../src/index.js';

describe('Python callables by reference', () => {
  it('ComputeTask accepts { python } and rejects an empty reference, naming the field', () => {
    const t = new ComputeTask({ uid: 'py', function: { python: 'math:hypot' }, args: [3, 4] });
    expect(t.function).toEqual({ python: 'math:hypot' });
    expect(t.toJSON().function).toEqual({ python: 'math:hypot' });
    let err: unknown;
    try {
      new ComputeTask({ uid: 'empty', function: { python: '' } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TaskValidationError);
    expect((err as TaskValidationError).taskUid).toBe('empty');
    expect((err as TaskValidationError).field).toMatch(/^function/);
  });

  it('the other execution backends refuse it in validate() with a SessionError naming the task and the backend', () => {
    const task = new ComputeTask({ uid: 'py-task', function: { python: 'math:hypot' } });
    for (const backend of [new ConcurrentExecutionBackend({ maxWorkers: 1 }), new HpcExecutionBackend({ launcher: 'local' }), new DistributedExecutionBackend()]) {
      expect(() => backend.validate(task)).toThrow(SessionError);
      expect(() => backend.validate(task)).toThrow(new RegExp(`py-task: backend "${backend.name}" cannot run a Python function`));
      expect(() => backend.validate(new ComputeTask({ function: () => 1 }))).not.toThrow();
    }
  });
});
