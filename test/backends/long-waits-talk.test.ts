// Long waits say what they wait for: while create() waits, the backend's state$ carries the phase
// (`detail`) and the recent lines of what it started (`log`), and watchBackend prints them.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DistributedExecutionBackend, VllmInferenceBackend, watchBackend, type BackendSnapshot } from '../../src/index.js';
import { writeTinyModel } from '../../src/testing.js';
import { expectNoProcessesLeft, markProcesses } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'rh-talk-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A real server that talks while it "loads" for a while, then answers /health. */
const server = join(dir, 'slow-server.mjs');
writeFileSync(
  server,
  `import { createServer } from 'node:http';
const [port, loadMs] = process.argv.slice(2).map(Number);
console.log('loading weights 1/2');
console.error('loading weights 2/2');
setTimeout(() => {
  createServer((req, res) => res.writeHead(req.url === '/health' ? 200 : 404).end()).listen(port, '127.0.0.1', () => console.log('server ready on ' + port));
}, loadMs);
`,
);

function record(b: { state$: VllmInferenceBackend['state$'] }): BackendSnapshot[] {
  const seen: BackendSnapshot[] = [];
  b.state$.subscribe((s) => seen.push(s));
  return seen;
}

function fakeStream() {
  const writes: string[] = [];
  return { writes, stream: { isTTY: false, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream };
}

describe('long waits talk', () => {
  it("VllmInferenceBackend: state$ says it waits for /health and carries the server's output", async () => {
    const mark = markProcesses();
    const vllm = new VllmInferenceBackend({ name: 'slow', model: 'm', command: [process.execPath, server, '{port}', '1500'], startTimeoutMs: 20_000 });
    const seen = record(vllm);
    const { writes, stream } = fakeStream();
    const talk = watchBackend(vllm, { stream });
    await vllm.start();
    const waiting = seen.find((s) => s.detail?.startsWith('waiting for http://127.0.0.1:'));
    expect(waiting?.detail).toMatch(/^waiting for http:\/\/127\.0\.0\.1:\d+\/health: 0 s of 20 s \(.*slow-server\.mjs \d+ 1500\)$/);
    expect(waiting?.phase).toBe('starting');
    const lines = seen.at(-1)!.log;
    expect(lines).toEqual(expect.arrayContaining(['loading weights 1/2', 'loading weights 2/2', expect.stringMatching(/^server ready on \d+$/)]));
    // the server's lines arrived while create() was still waiting
    expect(seen.some((s) => s.phase === 'starting' && s.log.includes('loading weights 1/2'))).toBe(true);
    expect(seen.at(-1)!.detail).toBe(`healthy at ${vllm.endpoint}`);
    talk.stop();
    expect(writes).toEqual(expect.arrayContaining(['slow | loading weights 1/2\n', 'slow | loading weights 2/2\n', `slow: healthy at ${vllm.endpoint}\n`]));
    expect(writes.find((w) => w.startsWith('slow: waiting for '))).toBeDefined();
    await vllm.shutdown();
    await expectNoProcessesLeft(mark);
  }, 60_000);

  it('LlamaCppInferenceBackend: state$ says which model it loads, then logs it loaded', async () => {
    const { LlamaCppInferenceBackend } = await import('../../src/inference/llama.js');
    using model = writeTinyModel();
    const llm = new LlamaCppInferenceBackend({ name: 'llm', modelPath: model.path, parallel: 2 });
    const seen = record(llm);
    await llm.start();
    expect(seen.find((s) => s.detail !== null)).toMatchObject({ phase: 'starting', detail: `loading ${model.path}` });
    expect(seen.at(-1)).toMatchObject({ phase: 'active', detail: null, log: ['loaded tiny: 2 sequences'] });
    await llm.shutdown();
  }, 60_000);

  it('DistributedExecutionBackend: state$ says what it starts and how many workers have registered', async () => {
    const mark = markProcesses();
    const dist = new DistributedExecutionBackend({ name: 'talky', resources: { nWorkers: 2, workerResources: 'GPU=1' } });
    const seen = record(dist);
    await dist.start();
    const details = seen.map((s) => s.detail).filter((d) => d !== null);
    expect(details[0]).toBe('starting redis-server');
    expect(details).toContain('starting 2 workers (LocalCluster)');
    expect(details.some((d) => /^waiting for workers: [01] of 2 registered \(\d+ s of 30 s\)$/.test(d!))).toBe(true);
    const log = seen.at(-1)!.log;
    expect(log[0]).toMatch(/^redis-server ready on redis:\/\/127\.0\.0\.1:\d+$/);
    expect(log.filter((l) => /^worker \S+ registered, offers \{"GPU":1\}$/.test(l))).toHaveLength(2);
    expect(seen.at(-1)).toMatchObject({ state: 'RUNNING', phase: 'active', detail: null });
    await dist.shutdown();
    await expectNoProcessesLeft(mark, 10_000);
  }, 60_000);
});
