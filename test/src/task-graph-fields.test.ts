// Task fields of the task graph: dependsOn (fixed at construction), retries (normalised), attempts,
// pendingReason, a prompt function; validated at the edge with the field named.
import { describe, expect, it } from 'vitest';
import { AITask, ComputeTask, DependencyError, isRhapsodyError, RhapsodyError, TaskValidationError } from '../../src/index.js';

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TaskValidationError);
    expect((e as Error).message).toContain('t.bad');
    return (e as TaskValidationError).field;
  }
  throw new Error('expected a TaskValidationError');
}

describe('task graph fields', () => {
  it('normalises retries and names a bad field', () => {
    expect(new ComputeTask({ executable: '/bin/true' }).retries).toBeNull();
    expect(new ComputeTask({ executable: '/bin/true', retries: 3 }).retries).toEqual({ max: 3, delay: 1000, factor: 2, on: 'infrastructure' });
    expect(new AITask({ prompt: 'p', model: 'm', retries: { max: 1, delay: 50, on: 'any' } }).retries).toEqual({ max: 1, delay: 50, factor: 2, on: 'any' });
    const bad = (retries: unknown) => fieldOf(() => new ComputeTask({ uid: 't.bad', executable: '/bin/true', retries: retries as never }));
    expect(bad(-1)).toBe('retries');
    expect(bad(1.5)).toBe('retries');
    expect(bad({ max: 1, on: 'sometimes' })).toMatch(/^retries/);
    expect(bad({ max: 1, delay: -5 })).toMatch(/^retries/);
    expect(bad({ max: 1, factor: 0 })).toMatch(/^retries/);
    expect(bad({ max: 1, retries: 2 })).toMatch(/^retries/);
  });

  it('keeps dependsOn fixed, accepts tasks and futures, refuses anything else', () => {
    const up = new ComputeTask({ uid: 'up', executable: '/bin/true' });
    const future = Promise.resolve({} as never);
    future.catch(() => undefined);
    const t = new ComputeTask({ function: (x: unknown) => x, args: [up], dependsOn: [up, future] });
    expect(t.dependsOn).toEqual([up, future]);
    expect(Object.isFrozen(t.dependsOn)).toBe(true);
    expect(() => ((t as { dependsOn: unknown }).dependsOn = [])).toThrow(TypeError);
    expect(() => (t.dependsOn as unknown[]).push(up)).toThrow(TypeError);
    expect(fieldOf(() => new ComputeTask({ uid: 't.bad', executable: '/bin/true', dependsOn: ['up' as never] }))).toBe('dependsOn.0');
    expect(fieldOf(() => new ComputeTask({ uid: 't.bad', executable: '/bin/true', dependsOn: up as never }))).toBe('dependsOn');
    // a task in an executable's arguments is a dependency; a number is not an argument
    expect(new ComputeTask({ executable: '/bin/echo', arguments: ['-n', up] }).arguments[1]).toBe(up);
    expect(fieldOf(() => new ComputeTask({ uid: 't.bad', executable: '/bin/echo', arguments: [1 as never] }))).toBe('arguments.0');
  });

  it('reads attempts and pendingReason, and shows the graph in the snapshot', () => {
    const up = new ComputeTask({ uid: 'up2', executable: '/bin/true' });
    const t = new ComputeTask({ uid: 'down2', executable: '/bin/true', dependsOn: [up], retries: 1 });
    expect([t.attempts, t.pendingReason]).toEqual([0, null]);
    expect(t.toJSON()).toMatchObject({ dependsOn: ['up2'], retries: { max: 1 }, attempts: 0, pendingReason: null });
  });

  it('accepts a prompt function of the dependencies; an empty prompt is still refused', () => {
    const up = new ComputeTask({ uid: 'up3', function: () => 'text' });
    const ai = new AITask({ prompt: (deps) => `Summarise: ${deps[0]!.returnValue}`, model: 'm', dependsOn: [up] });
    expect(typeof (ai.prompt as unknown)).toBe('function');
    expect(fieldOf(() => new AITask({ uid: 't.bad', prompt: '', model: 'm' }))).toBe('prompt');
    expect(fieldOf(() => new AITask({ uid: 't.bad', prompt: 42 as never, model: 'm' }))).toBe('prompt');
  });

  it('DependencyError is a branded RhapsodyError with a stable code and the cause chain', () => {
    const root = new Error('root failure');
    const first = new DependencyError('Task b: dependency a failed', 'b', 'a', { cause: root });
    const second = new DependencyError('Task c: dependency b failed', 'c', 'b', { cause: first });
    expect(second).toBeInstanceOf(RhapsodyError);
    expect(isRhapsodyError(second)).toBe(true);
    expect([second.code, second.name, second.taskUid, second.dependencyUid]).toEqual(['DEPENDENCY_ERROR', 'DependencyError', 'c', 'b']);
    expect((second.cause as DependencyError).cause).toBe(root);
    // recognised by the brand and the class name, as an error made by the other build would be
    const foreign = Object.create(Object.assign(Object.create(RhapsodyError.prototype), { constructor: { name: 'DependencyError' } }));
    Object.defineProperty(foreign, Symbol.for('rhapsody.error'), { value: true });
    expect(foreign).toBeInstanceOf(DependencyError);
  });
});
