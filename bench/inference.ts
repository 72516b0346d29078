// Inference benchmarks: same-process, same-run comparisons, median of 5 alternating rounds.
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { AITask, OpenAIInferenceBackend, Session } from '../src/index.js';
import { writeTinyModel } from '../src/testing.js';
import { LlamaCppInferenceBackend } from '../src/inference/llama.js';
import { freePort } from '../actors/process/free-port.js';
import { loadLlamaLib } from '../actors/inference/llama-lib.js';

const N = 64;
const PARALLEL = 8;
const ROUNDS = 5;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const prompts = Array.from({ length: N }, (_, i) => `Summarize result ${i}`);

/** The 64 prompts as AITasks through `session`; wall ms. */
async function aiTaskRound(session: Session): Promise<number> {
  const t0 = performance.now();
  const tasks = prompts.map((prompt) => new AITask({ prompt, model: 'tiny', maxTokens: 24, temperature: 0 }));
  await session.submitTasks(tasks);
  await session.waitTasks(tasks);
  if (tasks.some((t) => t.state !== 'DONE')) throw new Error('an AITask failed');
  return performance.now() - t0;
}

/** A warm-up of each, then ROUNDS alternating rounds; the medians. */
async function alternate(floor: () => Promise<number>, ours: () => Promise<number>): Promise<{ floor: number; ours: number }> {
  await floor();
  await ours();
  const f: number[] = [];
  const o: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    f.push(await floor());
    o.push(await ours());
  }
  return { floor: median(f), ours: median(o) };
}

/** 64 AITasks on the embedded backend vs the same 64 chats on node-llama-cpp directly (ms, median). */
export async function embeddedVsDirect(): Promise<Record<string, number>> {
  const modelPath = writeTinyModel().path;
  const threads = Math.max(1, availableParallelism() - 1);
  const lib = await loadLlamaLib();
  const llama = await lib.getLlama({ gpu: false, build: 'never', logLevel: lib.LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath });
  const context = await model.createContext({ sequences: PARALLEL, contextSize: 4096, threads });
  const wrapper = lib.resolveChatWrapper(model)!;
  const direct = async () => {
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        const sequence = context.getSequence();
        while (next < N) {
          const session = new lib.LlamaChatSession({ contextSequence: sequence, chatWrapper: wrapper, autoDisposeSequence: false });
          await session.prompt(prompts[next++]!, { maxTokens: 24, temperature: 0 });
          session.dispose({ disposeSequence: false });
          await sequence.clearHistory();
        }
        sequence.dispose();
      }),
    );
    return performance.now() - t0;
  };
  const backend = await LlamaCppInferenceBackend.create({ modelPath, parallel: PARALLEL, threads });
  const session = new Session({ backends: [backend] });
  const ms = await alternate(direct, () => aiTaskRound(session));
  await session.close();
  await context.dispose();
  await model.dispose();
  await llama.dispose();
  return { value: ms.ours, direct: ms.floor };
}

/** 64 AITasks through the HTTP service (in-flight 32) vs a bare fetch loop (32 at once), tasks/s. */
export async function httpVsFetch(): Promise<Record<string, number>> {
  const modelPath = writeTinyModel().path;
  const port = await freePort();
  const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
  const server = spawn(process.execPath, ['--import', 'tsx', cli, 'serve-model', '--model', modelPath, '--port', String(port), '--model-name', 'tiny', '--parallel', '32'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve) => server.stdout!.on('data', (d: Buffer) => d.toString().includes('serving') && resolve()));
  const endpoint = `http://127.0.0.1:${port}/v1`;
  const body = (prompt: string) => JSON.stringify({ model: 'tiny', messages: [{ role: 'user', content: prompt }], max_tokens: 24, temperature: 0 });
  const bare = async () => {
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < N) {
          const res = await fetch(`${endpoint}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: body(prompts[next++]!) });
          const j = (await res.json()) as { choices: Array<{ message: { content: string } }> };
          if (!j.choices[0]!.message.content) throw new Error('empty');
        }
      }),
    );
    return performance.now() - t0;
  };
  const backend = await OpenAIInferenceBackend.create({ endpoint, model: 'tiny', maxInFlight: 32 });
  const session = new Session({ backends: [backend] });
  const ms = await alternate(bare, () => aiTaskRound(session));
  await session.close();
  server.kill('SIGTERM');
  await new Promise((res) => server.once('exit', res));
  // tasks/s from the median wall times
  return { value: N / (ms.ours / 1000), bare: N / (ms.floor / 1000) };
}
