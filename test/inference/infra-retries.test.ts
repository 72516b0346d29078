// An inference service that is down, refuses, or drops the connection mid-request is infrastructure.
// One chart retries a failure, never both: without `retries` the request chart retries it
// (maxAttempts, backoffMs) as before; a task with `retries` makes one request per attempt and its
// own policy retries it (task.attempts counts them). A local HTTP server misbehaves on demand.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { AITask, BackendError, OpenAIInferenceBackend, Session } from '../../src/index.js';

/** A server that hands each request (numbered from 1) to `respond`. */
async function faultServer(respond: (req: IncomingMessage, res: ServerResponse, n: number) => void) {
  let n = 0;
  const server = createServer((req, res) => {
    const k = ++n;
    req.resume();
    req.on('end', () => respond(req, res, k));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    requests: () => n,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
const chat = (content: string) => JSON.stringify({ choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }] });
const ok = (res: ServerResponse) => res.writeHead(200, { 'content-type': 'application/json' }).end(chat('fine'));

async function sessionOn(endpoint: string) {
  const be = await OpenAIInferenceBackend.create({ endpoint, model: 'm', maxAttempts: 4, backoffMs: 10 });
  return new Session({ backends: [be] });
}

describe('inference: infrastructure failures and the two retry charts', () => {
  it('the connection dropped before the answer: the request chart retries it, or the task policy does under retries', async () => {
    // every odd request is dropped without an answer (the service died under it); even ones answer
    const srv = await faultServer((_req, res, n) => (n % 2 === 1 ? res.socket?.destroy() : ok(res)));
    await using s = await sessionOn(srv.endpoint);
    const plain = new AITask({ prompt: 'x', model: 'm' });
    await s.submitTasks([plain]);
    expect([(await plain).response, plain.attempts, srv.requests()]).toEqual(['fine', 1, 2]);
    const retried = new AITask({ prompt: 'x', model: 'm', retries: { max: 1, delay: 20 } });
    await s.submitTasks([retried]);
    expect([(await retried).response, retried.attempts, srv.requests()]).toEqual(['fine', 2, 4]);
    await srv.close();
  });

  it('the connection lost mid-response is retryable infrastructure (it was a plain failure)', async () => {
    const srv = await faultServer((_req, res, n) => {
      if (n > 1) return ok(res);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
      res.write('{"choices":[');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    await using s = await sessionOn(srv.endpoint);
    const retried = new AITask({ prompt: 'x', model: 'm', retries: { max: 1, delay: 20 } });
    await s.submitTasks([retried]);
    expect([(await retried).response, retried.attempts, srv.requests()]).toEqual(['fine', 2, 2]);
    await srv.close();
  });

  it('never both charts: a service that keeps failing gets max + 1 requests under retries, maxAttempts without', async () => {
    const srv = await faultServer((_req, res) => res.writeHead(503).end('{"error":{"message":"overloaded"}}'));
    await using s = await sessionOn(srv.endpoint);
    const retried = new AITask({ prompt: 'x', model: 'm', retries: { max: 2, delay: 10, factor: 1 } });
    await s.submitTasks([retried]);
    await expect(retried).rejects.toThrow(/HTTP 503: overloaded/);
    expect([retried.state, retried.attempts, srv.requests()]).toEqual(['FAILED', 3, 3]);
    const plain = new AITask({ prompt: 'x', model: 'm' });
    await s.submitTasks([plain]);
    await expect(plain).rejects.toBeInstanceOf(BackendError);
    expect([plain.attempts, srv.requests()]).toEqual([1, 3 + 4]);
    // retries: 0 is no policy: the request chart keeps its own retries
    const none = new AITask({ prompt: 'x', model: 'm', retries: 0 });
    await s.submitTasks([none]);
    await expect(none).rejects.toBeInstanceOf(BackendError);
    expect([none.attempts, srv.requests()]).toEqual([1, 3 + 4 + 4]);
    await srv.close();
  });

  it('a refused connection (the service is down) is retried by the task policy; a 400 is the task failure', async () => {
    const dead = await faultServer(() => undefined);
    await dead.close(); // the port is now refused
    await using s = await sessionOn(dead.endpoint);
    const down = new AITask({ prompt: 'x', model: 'm', retries: { max: 1, delay: 10 } });
    await s.submitTasks([down]);
    await expect(down).rejects.toThrow(/cannot connect \(ECONNREFUSED\)/);
    expect([down.state, down.attempts]).toEqual(['FAILED', 2]);

    const bad = await faultServer((_req, res) => res.writeHead(400).end('{"error":{"message":"max_tokens too large"}}'));
    await using s2 = await sessionOn(bad.endpoint);
    const t = new AITask({ prompt: 'x', model: 'm', retries: { max: 3, delay: 10 } });
    await s2.submitTasks([t]);
    await expect(t).rejects.toThrow(/HTTP 400/);
    expect([t.attempts, bad.requests()]).toEqual([1, 1]);
    await bad.close();
  });
});
