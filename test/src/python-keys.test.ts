// The Python spelling of a real task field is refused (it would be kept as an extra and silently
// ignored: a 2-rank job would run as one process) — issue 12 §2.
import { hostname } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { AITask, ComputeTask, HpcExecutionBackend, Session, TaskValidationError } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses } from '../helpers.js';

const mark = markProcesses();
afterEach(async () => {
  await expectNoProcessesLeft(mark);
});

function refusal(make: () => unknown): TaskValidationError {
  try {
    make();
  } catch (err) {
    expect(err).toBeInstanceOf(TaskValidationError);
    return err as TaskValidationError;
  }
  throw new Error('not refused');
}

describe('snake_case task fields', () => {
  it.each([
    ['task_backend_specific_kwargs', 'taskBackendSpecificKwargs'],
    ['capture_stdio', 'captureStdio'],
    ['input_files', 'inputFiles'],
    ['output_files', 'outputFiles'],
    ['exit_code', 'exitCode'],
    ['return_value', 'returnValue'],
  ])('ComputeTask %s names %s and the uid', (key, camel) => {
    const e = refusal(() => new ComputeTask({ uid: 'py.1', executable: '/bin/true', [key]: {} }));
    expect(e.field).toBe(camel);
    expect(e.taskUid).toBe('py.1');
    expect(e.message).toMatch(new RegExp(`Invalid task py\\.1: "${key}" is the Python spelling: use ${camel}`));
  });

  it.each(['process_templates', 'process_template'])('taskBackendSpecificKwargs.%s is refused', (key) => {
    const e = refusal(() => new ComputeTask({ uid: 'py.2', executable: '/bin/true', taskBackendSpecificKwargs: { [key]: [{}, {}] } }));
    expect(e.field).toMatch(/^taskBackendSpecificKwargs\.processTemplates?$/);
    expect(e.message).toMatch(/use taskBackendSpecificKwargs\.processTemplate/);
  });

  it.each([
    ['system_prompt', 'systemPrompt'],
    ['max_tokens', 'maxTokens'],
    ['top_p', 'topP'],
    ['top_k', 'topK'],
    ['stop_sequences', 'stopSequences'],
    ['inference_endpoint', 'inferenceEndpoint'],
  ])('AITask %s names %s', (key, camel) => {
    const e = refusal(() => new AITask({ uid: 'py.3', prompt: 'hi', model: 'm', [key]: 1 }));
    expect(e.field).toBe(camel);
    expect(e.taskUid).toBe('py.3');
  });

  it('an auto uid is named too; snake_case keys that are no field stay extras', () => {
    const e = refusal(() => new ComputeTask({ function: () => 1, exit_code: 0 }));
    expect(e.taskUid).toMatch(/^task\.\d+$/);
    const t = new ComputeTask({ function: () => 1, my_tag: 'x', taskBackendSpecificKwargs: { my_option: 1 } });
    expect(t.extras).toEqual({ my_tag: 'x' });
  });

  it('the camelCase spelling runs the 2-rank job the snake_case one meant', async () => {
    await using s = new Session({ backends: [await HpcExecutionBackend.create({ nodes: [{ hostname: hostname(), cpus: 2, gpus: [] }] })] });
    const t = new ComputeTask({ executable: '/bin/echo', arguments: ['r'], taskBackendSpecificKwargs: { processTemplates: [[2, {}]] } });
    await s.submitTasks([t]);
    await t;
    expect(t.ranks).toHaveLength(2);
  });
});
