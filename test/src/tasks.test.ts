import { describe, expect, it } from 'vitest';
import { AITask, ComputeTask, SessionError, TaskValidationError } from '../../src/index.js';

function validationError(fn: () => unknown): TaskValidationError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TaskValidationError);
    return e as TaskValidationError;
  }
  throw new Error('expected a TaskValidationError');
}

describe('ComputeTask', () => {
  it('gets auto uids task.NNNNNN from one counter', () => {
    const a = new ComputeTask({ executable: '/bin/true' });
    const b = new ComputeTask({ executable: '/bin/true' });
    expect(a.uid).toMatch(/^task\.\d{6}$/);
    expect(Number(b.uid.slice(5))).toBe(Number(a.uid.slice(5)) + 1);
    expect(a.state).toBe('NEW');
  });

  it('needs exactly one of executable / function, naming uid and field', () => {
    const none = validationError(() => new ComputeTask({ uid: 'my-task' }));
    expect(none.taskUid).toBe('my-task');
    expect(none.message).toContain('my-task');
    expect(none.message).toContain('exactly one of executable / function');
    const both = validationError(() => new ComputeTask({ uid: 'both', executable: '/bin/true', function: () => 1 }));
    expect(both.field).toBe('function');
  });

  it('rejects uids with path characters', () => {
    for (const uid of ['../etc/passwd', 'a/b', '', 'x'.repeat(129), 'sp ace']) {
      const e = validationError(() => new ComputeTask({ uid, executable: '/bin/true' }));
      expect(e.field).toBe('uid');
    }
    expect(new ComputeTask({ uid: 'ok.task-1:a_b', executable: '/bin/true' }).uid).toBe('ok.task-1:a_b');
  });

  it('validates field types and names the field', () => {
    expect(validationError(() => new ComputeTask({ executable: '/bin/true', arguments: 'x' as never })).field).toBe('arguments');
    expect(validationError(() => new ComputeTask({ function: 42 as never })).field).toBe('function');
    expect(validationError(() => new ComputeTask({ function: { module: '' } })).field).toBe('function.module');
    const t = validationError(() => new ComputeTask({ executable: '/bin/true', taskBackendSpecificKwargs: { timeout: -1 } }));
    expect(t.field).toBe('taskBackendSpecificKwargs.timeout');
    expect(validationError(() => new ComputeTask({ executable: '/bin/true', taskBackendSpecificKwargs: { env: { A: 1 as never } } })).field).toBe('taskBackendSpecificKwargs.env.A');
  });

  it('accepts module references and keeps unknown fields', () => {
    const t = new ComputeTask({ function: { module: '/abs/mod.mjs', export: 'run' }, priority: 3, tags: ['x'] });
    expect(t.function).toEqual({ module: '/abs/mod.mjs', export: 'run' });
    expect((t as unknown as { priority: number }).priority).toBe(3);
    expect(t.toJSON()).toMatchObject({ priority: 3, tags: ['x'], state: 'NEW', kind: 'compute' });
  });

  it('is awaitable only once submitted', async () => {
    const t = new ComputeTask({ executable: '/bin/true' });
    await expect(t).rejects.toBeInstanceOf(SessionError);
    await expect(t).rejects.toThrow(/has no bound future/);
  });
});

describe('AITask', () => {
  it('validates like the original', () => {
    expect(validationError(() => new AITask({ prompt: 'hi' })).field).toBe('model');
    expect(validationError(() => new AITask({ prompt: '', model: 'm' })).field).toBe('prompt');
    expect(validationError(() => new AITask({ prompt: [], model: 'm' })).field).toBe('prompt');
    expect(validationError(() => new AITask({ prompt: 'p', model: 'm', temperature: -0.1 })).field).toBe('temperature');
    expect(validationError(() => new AITask({ prompt: 'p', model: 'm', topP: 1.5 })).field).toBe('topP');
    expect(validationError(() => new AITask({ prompt: 'p', model: 'm', maxTokens: 0 })).field).toBe('maxTokens');
    expect(validationError(() => new AITask({ prompt: 'p', model: 'm', topK: 1.5 })).field).toBe('topK');
    const ok = new AITask({ prompt: ['a', 'b'], backend: 'vllm', temperature: 0, stopSequences: ['\n'] });
    expect(ok.prompt).toEqual(['a', 'b']);
    expect(ok.kind).toBe('ai');
  });
});
