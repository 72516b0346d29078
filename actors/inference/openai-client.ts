import { redactAndCut, redactKey } from '../../src/inference/redact.js';
import { BackendError } from '../../src/errors.js';

/** A BackendError that says whether another attempt may succeed (refused, reset, 429, 5xx). */
export type InferenceError = BackendError & { retryable: boolean; status: number | null };

export function inferenceError(message: string, backend: string, retryable: boolean, status: number | null = null, cause?: unknown): InferenceError {
  return Object.assign(new BackendError(message, backend, { cause }), { retryable, status });
}

/** The URL as errors may show it: never credentials, never query secrets. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '<invalid URL>';
  }
}

export interface PostOptions {
  backend: string;
  apiKey?: string;
  signal?: AbortSignal;
  /** responses larger than this are refused (default 8 MiB) */
  maxResponseBytes?: number;
}

/**
 * POSTs JSON to an OpenAI-compatible endpoint and returns the parsed body. Errors name the URL
 * (redacted) and the server's message, never the API key; network failures, 429 and 5xx are
 * marked retryable, other statuses and malformed or oversized bodies are not.
 */
export async function postJson(url: string, body: unknown, options: PostOptions): Promise<unknown> {
  const where = redactUrl(url);
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(options.apiKey ? { authorization: `Bearer ${options.apiKey}` } : {}) },
      body: JSON.stringify(body),
      signal: options.signal,
    });
  } catch (err) {
    if (options.signal?.aborted) throw err;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw inferenceError(`${where}: cannot connect (${redactKey(String(cause?.code ?? cause?.message ?? (err as Error).message), options.apiKey)})`, options.backend, true, null, err);
  }
  let text: string;
  try {
    text = await readCapped(res, options.maxResponseBytes ?? 8 * 1024 * 1024, where, options.backend);
  } catch (err) {
    if (options.signal?.aborted || (err as { retryable?: unknown }).retryable !== undefined) throw err;
    // the server went away mid-response (closed, reset): as retryable as a refused connection
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw inferenceError(
      `${where}: connection lost while reading the response (${redactKey(String(cause?.code ?? cause?.message ?? (err as Error).message), options.apiKey)})`,
      options.backend,
      true,
      res.status,
      err,
    );
  }
  if (!res.ok) {
    const retryable = res.status === 429 || res.status >= 500;
    // a server may echo the key back (a 401 quoting the header): never let it into an error
    const said = serverMessage(redactKey(text, options.apiKey));
    throw inferenceError(`${where}: HTTP ${res.status}: ${said}`, options.backend, retryable, res.status);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw inferenceError(`${where}: malformed response (not JSON): ${redactAndCut(text, options.apiKey, 120)}`, options.backend, false, res.status);
  }
}

function serverMessage(text: string): string {
  try {
    const j = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
    const m = typeof j.error === 'string' ? j.error : (j.error?.message ?? j.message);
    if (m) return m.slice(0, 300);
  } catch {
    // not JSON: show the start of it
  }
  return text.slice(0, 300) || '(empty body)';
}

async function readCapped(res: Response, cap: number, where: string, backend: string): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > cap) {
    await res.body?.cancel().catch(() => undefined);
    throw inferenceError(`${where}: response too large (${declared} bytes > ${cap})`, backend, false, res.status);
  }
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > cap) {
      await reader.cancel().catch(() => undefined);
      throw inferenceError(`${where}: response too large (over ${cap} bytes)`, backend, false, res.status);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The assistant text of a chat completion, or a non-retryable error naming what is wrong. */
export function chatText(json: unknown, where: string, backend: string): string {
  const content = (json as { choices?: Array<{ message?: { content?: unknown } }> } | null)?.choices?.[0]?.message?.content;
  if (typeof content !== 'string') throw inferenceError(`${where}: malformed response (no choices[0].message.content)`, backend, false);
  return content;
}
