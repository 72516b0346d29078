// OpenAI-compatible path: `rhapsody serve-model` (real engine, real tiny model) as a managed service,
// plus fault injection (a local HTTP server misbehaving on demand) for what a real server will not do.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AITask, BackendError, OpenAIInferenceBackend, Session, TaskCanceledError, VllmInferenceBackend } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses } from '../helpers.js';
import { SENTENCE, serveModelCommand, tinyModel } from './model-fixture.js';

const mark = markProcesses();
let vllm: VllmInferenceBackend;
let session: Session;

beforeAll(async () => {
  vllm = await VllmInferenceBackend.create({ name: 'svc', model: tinyModel(), servedModelName: 'tiny', command: serveModelCommand(['--parallel', '4']), backoffMs: 100 });
  session = new Session({ backends: [vllm] });
}, 60_000);
afterAll(async () => {
  await session?.close();
  await expectNoProcessesLeft(mark, 10_000);
});

/** A server that answers each request with `respond`, counting concurrency. */
async function faultServer(respond: (req: IncomingMessage, res: ServerResponse, n: number) => void) {
  let n = 0;
  let open = 0;
  let maxOpen = 0;
  const arrivals: number[] = [];
  const server: Server = createServer((req, res) => {
    n++;
    open++;
    maxOpen = Math.max(maxOpen, open);
    arrivals.push(Date.now());
    res.on('close', () => open--);
    req.resume();
    req.on('end', () => respond(req, res, n));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    endpoint: `http://127.0.0.1:${port}/v1`,
    stats: () => ({ requests: n, maxOpen, arrivals }),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
const chat = (content: string) => JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] });

describe('VllmInferenceBackend managing rhapsody serve-model', () => {
  it('maps AITask fields onto the OpenAI API and returns exact text', async () => {
    const a = new AITask({ prompt: 'Summarize the simulation findings', backend: 'svc' });
    const b = new AITask({ prompt: 'x', model: 'tiny', maxTokens: 3, systemPrompt: 'terse', temperature: 0, topP: 1, topK: 1 });
    const c = new AITask({ prompt: ['p', 'q'], model: 'tiny', stopSequences: ['robot'] });
    await session.submitTasks([a, b, c]);
    await Promise.all([a, b, c]);
    expect(a.response).toBe(SENTENCE);
    expect(b.response).toBe('The quick robot');
    expect(c.response).toEqual(['The quick ', 'The quick ']);
    expect(vllm.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
  });

  it('the server speaks the OpenAI API: models, completions with a prompt list, SSE chat', async () => {
    const models = (await (await fetch(`${vllm.endpoint}/models`)).json()) as { data: Array<{ id: string }> };
    expect(models.data.map((m) => m.id)).toEqual(['tiny']);
    const comp = (await (await fetch(`${vllm.endpoint}/completions`, { method: 'POST', body: JSON.stringify({ model: 'tiny', prompt: ['The quick robot ran a', 'zzz'], max_tokens: 2 }) })).json()) as {
      choices: Array<{ index: number; text: string; finish_reason: string }>;
    };
    expect(comp.choices.map((c) => [c.index, c.text, c.finish_reason])).toEqual([
      [0, 'simulation and', 'length'],
      [1, 'The quick', 'length'],
    ]);
    const sse = await (await fetch(`${vllm.endpoint}/chat/completions`, { method: 'POST', body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }], max_tokens: 3, stream: true }) })).text();
    const events = sse.split('\n\n').filter(Boolean);
    expect(events.at(-1)).toBe('data: [DONE]');
    const text = events
      .slice(0, -1)
      .map((e) => (JSON.parse(e.slice(6)) as { choices: Array<{ delta: { content?: string } }> }).choices[0]!.delta.content ?? '')
      .join('');
    expect(text).toBe('The quick robot');
  });

  it('a model the server does not serve fails the task with a BackendError', async () => {
    const t = new AITask({ prompt: 'x', model: 'llama-3-70b', backend: 'svc' });
    await session.submitTasks([t]);
    await expect(t).rejects.toBeInstanceOf(BackendError);
    expect((t.exception as Error).message).toMatch(/404.*llama-3-70b.*does not exist/);
  });

  it('the server killed mid-run is restarted; in-flight tasks are retried; later tasks succeed', async () => {
    const pid = vllm.servicePid!;
    const inFlight = Array.from({ length: 8 }, () => new AITask({ prompt: 'y', model: 'tiny' }));
    await session.submitTasks(inFlight);
    process.kill(-pid, 'SIGKILL');
    await session.waitTasks(inFlight, { timeout: 60_000 });
    expect(inFlight.map((t) => t.response)).toEqual(Array(8).fill(SENTENCE));
    expect(vllm.serviceState).toBe('running');
    expect(vllm.servicePid).not.toBe(pid);
    const later = new AITask({ prompt: 'z', model: 'tiny', maxTokens: 1 });
    await session.submitTasks([later]);
    expect((await later).response).toBe('The');
  }, 60_000);
});

describe('OpenAIInferenceBackend failures', () => {
  it('an unreachable endpoint fails the task with a BackendError naming it, after bounded retries', async () => {
    const dead = await faultServer(() => undefined);
    await dead.close(); // the port is now refused
    const be = await OpenAIInferenceBackend.create({ endpoint: dead.endpoint, model: 'm', maxAttempts: 3, backoffMs: 20 });
    await using s = new Session({ backends: [be] });
    const t = new AITask({ prompt: 'x', model: 'm' });
    await s.submitTasks([t]);
    await expect(t).rejects.toBeInstanceOf(BackendError);
    expect((t.exception as Error).message).toContain(dead.endpoint);
    expect((t.exception as Error).message).toMatch(/cannot connect \(ECONNREFUSED\)/);
  });

  it('retries 503 and 429 with backoff, then succeeds; a 400 is not retried', async () => {
    const srv = await faultServer((_req, res, n) => {
      if (n === 1) res.writeHead(503).end('{"error":{"message":"loading"}}');
      else if (n === 2) res.writeHead(429).end('{"error":{"message":"slow down"}}');
      else res.writeHead(200, { 'content-type': 'application/json' }).end(chat('fine'));
    });
    const be = await OpenAIInferenceBackend.create({ endpoint: srv.endpoint, model: 'm', backoffMs: 20 });
    await using s = new Session({ backends: [be] });
    const t = new AITask({ prompt: 'x', model: 'm' });
    await s.submitTasks([t]);
    expect((await t).response).toBe('fine');
    expect(srv.stats().requests).toBe(3);
    await srv.close();

    const bad = await faultServer((_req, res) => res.writeHead(400).end('{"error":{"message":"max_tokens too large"}}'));
    const be2 = await OpenAIInferenceBackend.create({ name: 'bad', endpoint: bad.endpoint, model: 'm', backoffMs: 20 });
    await using s2 = new Session({ backends: [be2] });
    const t2 = new AITask({ prompt: 'x', model: 'm' });
    await s2.submitTasks([t2]);
    await expect(t2).rejects.toThrow(/HTTP 400: max_tokens too large/);
    expect(bad.stats().requests).toBe(1);
    await bad.close();
  });

  it('an echoed API key never leaks: 200 non-JSON echo, a key straddling the cut, URL-encoded (issue 11 #12, #13)', async () => {
    const secret = 'sk-live/echo+key=987654321';
    const srv = await faultServer((req, res) => {
      const auth = String(req.headers.authorization);
      if (req.url!.startsWith('/echo200')) res.writeHead(200).end(`<html>you sent ${auth} and ${secret}</html>`);
      else if (req.url!.startsWith('/straddle')) res.writeHead(401).end(`${'x'.repeat(290)}${secret} trailing`);
      else res.writeHead(403).end(`{"error":{"message":"bad ${encodeURIComponent(secret)}"}}`);
    });
    const be = await OpenAIInferenceBackend.create({ endpoint: srv.endpoint.replace('/v1', ''), model: 'm', apiKey: secret });
    await using s = new Session({ backends: [be] });
    const base = srv.endpoint.replace('/v1', '');
    const tasks = ['echo200', 'straddle', 'encoded'].map((p) => new AITask({ prompt: 'x', model: 'm', inferenceEndpoint: `${base}/${p}` }));
    await s.submitTasks(tasks);
    await s.waitTasks(tasks);
    for (const t of tasks) {
      expect(t.state).toBe('FAILED');
      const texts: string[] = [JSON.stringify(t.toJSON())];
      for (let e: unknown = t.exception; e; e = (e as Error).cause) texts.push(String((e as Error).message), String((e as Error).stack));
      for (const text of texts) {
        expect(text).not.toContain('sk-live');
        expect(text).not.toContain(encodeURIComponent(secret).slice(0, 8));
      }
    }
    await srv.close();
  });

  it('malformed and oversized responses fail cleanly; the API key never appears in errors', async () => {
    const srv = await faultServer((req, res) => {
      if (req.url!.startsWith('/garbage')) res.writeHead(200).end('<html>not json');
      else if (req.url!.startsWith('/shape')) res.writeHead(200).end('{"choices":[]}');
      else if (req.url!.startsWith('/huge')) res.writeHead(200).end(chat('x'.repeat(3 * 1024 * 1024)));
      else res.writeHead(401).end(`{"error":{"message":"bad key ${req.headers.authorization}"}}`);
    });
    const secret = 'sk-very-secret-123';
    const be = await OpenAIInferenceBackend.create({ endpoint: srv.endpoint.replace('/v1', ''), model: 'm', apiKey: secret, maxResponseBytes: 1024 * 1024 });
    await using s = new Session({ backends: [be] });
    const base = srv.endpoint.replace('/v1', '');
    const tasks = ['garbage', 'shape', 'huge'].map((p) => new AITask({ prompt: 'x', model: 'm', inferenceEndpoint: `${base}/${p}` }));
    const auth = new AITask({ prompt: 'x', model: 'm' });
    await s.submitTasks([...tasks, auth]);
    await s.waitTasks([...tasks, auth]);
    expect(tasks.map((t) => t.state)).toEqual(['FAILED', 'FAILED', 'FAILED']);
    expect((tasks[0]!.exception as Error).message).toMatch(/malformed response \(not JSON\)/);
    expect((tasks[1]!.exception as Error).message).toMatch(/malformed response \(no choices/);
    expect((tasks[2]!.exception as Error).message).toMatch(/response too large/);
    expect(auth.state).toBe('FAILED');
    for (const t of [...tasks, auth]) {
      expect(t.exception).toBeInstanceOf(BackendError);
      expect((t.exception as Error).message).not.toContain('secret');
    }
    // the server did get the key
    expect((auth.exception as Error).message).toMatch(/HTTP 401/);
    await srv.close();
  });

  it('a slow server hits the per-request timeout; cancel aborts the HTTP request', async () => {
    const srv = await faultServer(() => undefined); // never answers
    const be = await OpenAIInferenceBackend.create({ endpoint: srv.endpoint, model: 'm', requestTimeoutMs: 300 });
    await using s = new Session({ backends: [be] });
    const slow = new AITask({ prompt: 'x', model: 'm' });
    const canceled = new AITask({ prompt: 'y', model: 'm' });
    await s.submitTasks([slow, canceled]);
    while (srv.stats().requests < 2) await new Promise((r) => setTimeout(r, 10));
    expect(await canceled.cancel()).toBe(true);
    await expect(canceled).rejects.toBeInstanceOf(TaskCanceledError);
    await expect(slow).rejects.toThrow(/did not answer within 300 ms/);
    await new Promise((r) => setTimeout(r, 50));
    expect(srv.stats().maxOpen).toBe(2);
    await srv.close();
  });

  it('the in-flight limit bounds concurrent requests; micro-batching releases them in groups', async () => {
    const srv = await faultServer((_req, res) => setTimeout(() => res.writeHead(200).end(chat('ok')), 30));
    const be = await OpenAIInferenceBackend.create({ endpoint: srv.endpoint, model: 'm', maxInFlight: 3 });
    await using s = new Session({ backends: [be] });
    const tasks = Array.from({ length: 12 }, () => new AITask({ prompt: 'x', model: 'm' }));
    await s.submitTasks(tasks);
    await s.waitTasks(tasks);
    expect(tasks.every((t) => t.response === 'ok')).toBe(true);
    expect(srv.stats().maxOpen).toBe(3);
    await srv.close();

    const batched = await faultServer((_req, res) => res.writeHead(200).end(chat('ok')));
    const be2 = await OpenAIInferenceBackend.create({ name: 'batched', endpoint: batched.endpoint, model: 'm', maxBatchSize: 4, maxBatchWaitMs: 200 });
    await using s2 = new Session({ backends: [be2] });
    const first = [1, 2, 3].map(() => new AITask({ prompt: 'x', model: 'm' }));
    const t0 = Date.now();
    await s2.submitTasks(first);
    await s2.waitTasks(first);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(190); // a partial batch waits for maxBatchWaitMs
    const full = [1, 2, 3, 4].map(() => new AITask({ prompt: 'x', model: 'm' }));
    const t1 = Date.now();
    await s2.submitTasks(full);
    await s2.waitTasks(full);
    expect(Date.now() - t1).toBeLessThan(190); // a full batch goes at once
    await batched.close();
  });
});
