import { chatText, postJson, redactUrl } from '../../../actors/inference/openai-client.js';
import type { AITaskSpec as AITask } from '../../run/task-handle.js';
import { InferenceBackend, type InferenceOptions } from './inference-backend.js';
import { checkOpenAIOptions } from '../options/schemas.js';

export interface OpenAIInferenceBackendOptions extends InferenceOptions {
  name?: string;
  /** base URL ending in /v1, e.g. http://127.0.0.1:8000/v1 */
  endpoint: string;
  /** default model for tasks that do not name one */
  model?: string;
  /** sent as a bearer token; never logged or put in errors */
  apiKey?: string;
  /** responses larger than this fail the task (default 8 MiB) */
  maxResponseBytes?: number;
}

/** Requests to an OpenAI-compatible `/chat/completions` (shared by the plain and the managed backend). */
export abstract class OpenAICompatibleBackend extends InferenceBackend {
  protected endpointUrl: string;
  readonly model: string | undefined;
  private readonly apiKey: string | undefined;
  private readonly maxResponseBytes: number | undefined;

  constructor(options: OpenAIInferenceBackendOptions) {
    super(options.name ?? 'openai', options);
    this.endpointUrl = options.endpoint.replace(/\/+$/, '');
    this.model = options.model;
    this.apiKey = options.apiKey;
    this.maxResponseBytes = options.maxResponseBytes;
  }

  /** The base URL requests go to. */
  get endpoint(): string {
    return this.endpointUrl;
  }

  get target(): string {
    return redactUrl(this.endpointUrl);
  }

  protected async onStart(): Promise<void> {
    new URL(this.endpointUrl); // a malformed URL fails start, not every task
  }

  /** Waits until requests may be sent (a managed service restarting). */
  protected async ready(_signal: AbortSignal): Promise<void> {}

  protected async generate(task: AITask, prompt: string, signal: AbortSignal): Promise<string> {
    await this.ready(signal);
    const base = (task.inferenceEndpoint ?? this.endpointUrl).replace(/\/+$/, '');
    const url = `${base}/chat/completions`;
    const body: Record<string, unknown> = { model: task.model ?? this.model, messages: this.chatMessages(task, prompt) };
    if (task.maxTokens !== undefined) body.max_tokens = task.maxTokens;
    if (task.temperature !== undefined) body.temperature = task.temperature;
    if (task.topP !== undefined) body.top_p = task.topP;
    if (task.topK !== undefined) body.top_k = task.topK;
    if (task.stopSequences?.length) body.stop = task.stopSequences;
    const json = await postJson(url, body, { backend: this.name, apiKey: this.apiKey, signal, maxResponseBytes: this.maxResponseBytes });
    return chatText(json, redactUrl(url), this.name);
  }
}

/**
 * Any OpenAI-compatible server (vLLM, llama.cpp server, Ollama, `rhapsody serve-model`, …). Each
 * prompt is one `/chat/completions` request: the task's `systemPrompt` as the system message, the
 * prompt as the user message; `maxTokens`, `temperature`, `topP`, `topK`, `stopSequences` map to
 * `max_tokens`, `temperature`, `top_p`, `top_k`, `stop`.
 *
 * @example
 * const llm = await OpenAIInferenceBackend.create({ endpoint: 'http://127.0.0.1:8000/v1', model: 'tiny' });
 */
export class OpenAIInferenceBackend extends OpenAICompatibleBackend {
  constructor(options: OpenAIInferenceBackendOptions) {
    super(checkOpenAIOptions(options));
  }

  static async create(options: OpenAIInferenceBackendOptions): Promise<OpenAIInferenceBackend> {
    return new OpenAIInferenceBackend(options).start();
  }
}
