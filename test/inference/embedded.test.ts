// The embedded engine (real node-llama-cpp, real tiny GGUF generated here) behind AITasks.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AITask, Session, TaskCanceledError } from '../../src/index.js';
import { TINY_MODEL_SENTENCE, writeTinyModel } from '../../src/testing.js';
import { LlamaCppInferenceBackend } from '../../src/inference/llama.js';
import { SENTENCE, tinyModel } from './model-fixture.js';

let modelPath: string;
let llm: LlamaCppInferenceBackend;
let session: Session;

beforeAll(async () => {
  modelPath = tinyModel();
  llm = await LlamaCppInferenceBackend.create({ modelPath, parallel: 4, contextSize: 4096 });
  session = new Session({ backends: [llm] });
}, 60_000);
afterAll(async () => {
  await session?.close();
});

describe('tiny model', () => {
  it('is byte-identical on every run and tells a fixed sentence', () => {
    const again = modelPath.replace(/tiny\.gguf$/, 'again.gguf');
    writeTinyModel(again);
    expect(readFileSync(again).equals(readFileSync(modelPath))).toBe(true);
    expect(TINY_MODEL_SENTENCE).toBe(SENTENCE);
  });
});

describe('LlamaCppInferenceBackend', () => {
  it('answers a prompt with the exact greedy text; maxTokens and stop sequences apply', async () => {
    const full = new AITask({ prompt: 'Summarize the simulation findings', model: 'tiny' });
    const short = new AITask({ prompt: 'Summarize', model: 'tiny', maxTokens: 4 });
    const stopped = new AITask({ prompt: 'Summarize', model: 'tiny', stopSequences: ['summary'] });
    const withSystem = new AITask({ prompt: 'hello', model: 'tiny', systemPrompt: 'You are terse.', maxTokens: 3, temperature: 0 });
    await session.submitTasks([full, short, stopped, withSystem]);
    await Promise.all([full, short, stopped, withSystem]);
    expect(full.response).toBe(SENTENCE);
    expect(short.response).toBe('The quick robot ran');
    expect(stopped.response).toBe('The quick robot ran a simulation and wrote short ');
    expect(withSystem.response).toBe('The quick robot');
    expect(full.state).toBe('DONE');
    expect(full.backend).toBe('llama');
  });

  it('a prompt list gives the list of responses in order', async () => {
    const t = new AITask({ prompt: ['one', 'two', 'three'], model: 'tiny', maxTokens: 2 });
    await session.submitTasks([t]);
    const result = await t;
    expect(result.response).toEqual(['The quick', 'The quick', 'The quick']);
  });

  it('32 concurrent tasks on a context with 4 sequences: they queue, none is lost', async () => {
    const tasks = Array.from({ length: 32 }, (_, i) => new AITask({ prompt: `request ${i}`, model: 'tiny', maxTokens: 5 }));
    await session.submitTasks(tasks);
    await session.waitTasks(tasks, { timeout: 60_000 });
    expect(tasks.map((t) => t.state)).toEqual(tasks.map(() => 'DONE'));
    expect(new Set(tasks.map((t) => t.response))).toEqual(new Set(['The quick robot ran a']));
  });

  it('cancel stops a generation in progress and frees its sequence', async () => {
    const long = Array.from({ length: 6 }, () => new AITask({ prompt: 'go', model: 'tiny' }));
    await session.submitTasks(long);
    expect(await long[5]!.cancel()).toBe(true);
    await expect(long[5]!).rejects.toBeInstanceOf(TaskCanceledError);
    await session.waitTasks(long);
    expect(long.slice(0, 5).map((t) => t.response)).toEqual(Array(5).fill(SENTENCE));
    const after = new AITask({ prompt: 'again', model: 'tiny', maxTokens: 1 });
    await session.submitTasks([after]);
    expect((await after).response).toBe('The');
  });

  it('tasks are events like any other: QUEUED, RUNNING, DONE', async () => {
    const seen: string[] = [];
    const t = new AITask({ prompt: 'x', model: 'tiny', maxTokens: 1 });
    const sub = session.events$.subscribe((e) => e.uid === t.uid && seen.push(e.state));
    await session.submitTasks([t]);
    await t;
    sub.unsubscribe();
    expect(seen).toEqual(['SUBMITTED', 'QUEUED', 'RUNNING', 'DONE']);
  });
});
