import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LlamaEngine, type ChatMessage, type GenerationRequest, type LlamaEngineOptions } from '../../actors/inference/llama-engine.js';

export interface ModelServerOptions extends LlamaEngineOptions {
  port?: number;
  host?: string;
  /** the model id served (default: the file name without .gguf) */
  modelName?: string;
}

export interface ModelServer {
  /** base URL ending in /v1 */
  readonly endpoint: string;
  readonly port: number;
  readonly modelName: string;
  close(): Promise<void>;
}

const MAX_BODY = 4 * 1024 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type = 'invalid_request_error',
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

/**
 * A small OpenAI-compatible server over the embedded engine: `GET /health`, `GET /v1/models`,
 * `POST /v1/completions` (a prompt or a list of prompts), `POST /v1/chat/completions` (SSE with
 * `stream: true`). Requests beyond the context's sequences queue; none is refused for load.
 *
 * @example
 * import { startModelServer, writeTinyModel } from 'rhapsody/inference/llama';
 * const server = await startModelServer({ modelPath: writeTinyModel().path, port: 0 });
 * const llm = await OpenAIInferenceBackend.create({ endpoint: server.endpoint, model: server.modelName });
 * await server.close();
 */
export async function startModelServer(options: ModelServerOptions): Promise<ModelServer> {
  const engine = await LlamaEngine.load(options);
  const modelName = options.modelName ?? engine.modelName;
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      const e = err instanceof HttpError ? err : new HttpError(500, (err as Error)?.message ?? String(err), 'server_error');
      if (!res.headersSent) send(res, e.status, { error: { message: e.message, type: e.type, code: e.code } });
      else res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' && path === '/health') return send(res, 200, { status: 'ok' });
    if (req.method === 'GET' && path === '/v1/models') {
      return send(res, 200, { object: 'list', data: [{ id: modelName, object: 'model', created: 0, owned_by: 'rhapsody' }] });
    }
    if (req.method !== 'POST' || (path !== '/v1/completions' && path !== '/v1/chat/completions')) {
      throw new HttpError(404, `no route ${req.method} ${path}`);
    }
    const body = await readJson(req);
    if (body.model !== undefined && body.model !== modelName) {
      throw new HttpError(404, `The model \`${String(body.model)}\` does not exist (this server serves \`${modelName}\`)`, 'invalid_request_error', 'model_not_found');
    }
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    const sampling = samplingOf(body);
    const id = randomBytes(8).toString('hex');
    const created = Math.floor(Date.now() / 1000);
    if (path === '/v1/chat/completions') {
      const messages = messagesOf(body.messages);
      if (body.stream === true) return streamChat(res, { ...sampling, messages }, abort.signal, `chatcmpl-${id}`, created);
      const g = await engine.generate({ ...sampling, messages }, abort.signal);
      return send(res, 200, {
        id: `chatcmpl-${id}`,
        object: 'chat.completion',
        created,
        model: modelName,
        choices: [{ index: 0, message: { role: 'assistant', content: g.text }, finish_reason: g.finishReason }],
        usage: { prompt_tokens: g.promptTokens, completion_tokens: g.completionTokens, total_tokens: g.promptTokens + g.completionTokens },
      });
    }
    const prompts = typeof body.prompt === 'string' ? [body.prompt] : Array.isArray(body.prompt) && body.prompt.every((p) => typeof p === 'string') ? (body.prompt as string[]) : null;
    if (!prompts || prompts.length === 0) throw new HttpError(400, '`prompt` must be a string or a non-empty list of strings');
    const gens = await Promise.all(prompts.map((prompt) => engine.generate({ ...sampling, prompt }, abort.signal)));
    const usage = gens.reduce((u, g) => ({ prompt_tokens: u.prompt_tokens + g.promptTokens, completion_tokens: u.completion_tokens + g.completionTokens }), { prompt_tokens: 0, completion_tokens: 0 });
    return send(res, 200, {
      id: `cmpl-${id}`,
      object: 'text_completion',
      created,
      model: modelName,
      choices: gens.map((g, index) => ({ index, text: g.text, finish_reason: g.finishReason, logprobs: null })),
      usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
    });
  }

  async function streamChat(res: ServerResponse, request: GenerationRequest, signal: AbortSignal, id: string, created: number): Promise<void> {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const chunk = (delta: Record<string, unknown>, finish: string | null) =>
      res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: modelName, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);
    chunk({ role: 'assistant' }, null);
    const g = await engine.generate({ ...request, onText: (text) => void (text && chunk({ content: text }, null)) }, signal);
    chunk({}, g.finishReason);
    res.end('data: [DONE]\n\n');
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8000, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? '127.0.0.1';
  return {
    endpoint: `http://${host.includes(':') ? `[${host}]` : host}:${port}/v1`,
    port,
    modelName,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      await engine.close();
    },
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > MAX_BODY) throw new HttpError(413, `request body over ${MAX_BODY} bytes`);
    chunks.push(c);
  }
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new HttpError(400, 'the body must be a JSON object');
}

function samplingOf(body: Record<string, unknown>): GenerationRequest {
  const num = (k: string) => {
    const v = body[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new HttpError(400, `\`${k}\` must be a number`);
    return v;
  };
  const stop = body.stop;
  return {
    countTokens: true,
    maxTokens: num('max_tokens') ?? num('max_completion_tokens'),
    temperature: num('temperature'),
    topP: num('top_p'),
    topK: num('top_k'),
    seed: num('seed'),
    stop: typeof stop === 'string' ? [stop] : Array.isArray(stop) ? stop.map(String) : undefined,
  };
}

function messagesOf(value: unknown): ChatMessage[] {
  if (!Array.isArray(value) || value.length === 0) throw new HttpError(400, '`messages` must be a non-empty list');
  if ((value.at(-1) as { role?: unknown })?.role !== 'user') throw new HttpError(400, 'the last message must be from the user');
  return value.map((m, i) => {
    const role = (m as { role?: unknown })?.role;
    const content = (m as { content?: unknown })?.content;
    if (role !== 'system' && role !== 'user' && role !== 'assistant') throw new HttpError(400, `messages[${i}].role must be system, user or assistant`);
    if (typeof content !== 'string') throw new HttpError(400, `messages[${i}].content must be a string`);
    return { role, content };
  });
}
