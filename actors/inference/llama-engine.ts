import { availableParallelism } from 'node:os';
import { loadLlamaLib, type ChatHistoryItem, type ChatWrapper, type Llama, type LlamaContext, type LlamaContextSequence, type LlamaLib, type LlamaModel } from './llama-lib.js';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** One generation: a chat (messages) or a raw text completion (prompt). */
export interface GenerationRequest {
  messages?: ChatMessage[];
  prompt?: string;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  stop?: string[];
  seed?: number;
  /** streamed text as it is generated */
  onText?: (chunk: string) => void;
  /** count prompt and completion tokens (costs two tokenizations; the server reports usage) */
  countTokens?: boolean;
}

export interface Generation {
  text: string;
  finishReason: 'stop' | 'length';
  /** 0 unless `countTokens` */
  promptTokens: number;
  completionTokens: number;
}

export interface LlamaEngineOptions {
  modelPath: string;
  /** tokens per context (shared by its sequences; default 4096) */
  contextSize?: number;
  /** sequences decoded together (continuous batching; default 8) */
  parallel?: number;
  /** CPU threads (default: cores − 1, at least 1; llama.cpp's default oversubscribes small machines) */
  threads?: number;
}

/**
 * The embedded engine: one node-llama-cpp model and context with `parallel` sequences. Requests
 * wait in FIFO order for a free sequence (taking one blocks otherwise: "No sequences left"), run
 * with continuous batching, and give the sequence back cleared. The chat wrapper is resolved once.
 *
 * @example
 * import { LlamaEngine, writeTinyModel } from 'rhapsody/inference/llama';
 * const engine = await LlamaEngine.load({ modelPath: writeTinyModel().path, parallel: 2 });
 * const { text } = await engine.generate({ messages: [{ role: 'user', content: 'hello' }], maxTokens: 4 }); // 'The quick robot ran'
 * await engine.close();
 */
export class LlamaEngine {
  private readonly free: LlamaContextSequence[] = [];
  private readonly waiting: Array<{ take: (s: LlamaContextSequence) => void; fail: (e: Error) => void }> = [];
  private closed = false;

  private constructor(
    private readonly llama: Llama,
    readonly model: LlamaModel,
    private readonly context: LlamaContext,
    private readonly chatWrapper: ChatWrapper,
    private readonly lib: LlamaLib,
    readonly parallel: number,
  ) {
    for (let i = 0; i < parallel; i++) this.free.push(context.getSequence());
  }

  static async load(options: LlamaEngineOptions): Promise<LlamaEngine> {
    const lib = await loadLlamaLib();
    const llama = await lib.getLlama({ gpu: false, build: 'never', logLevel: lib.LlamaLogLevel.error, progressLogs: false });
    const model = await llama.loadModel({ modelPath: options.modelPath });
    const parallel = options.parallel ?? 8;
    const context = await model.createContext({
      sequences: parallel,
      contextSize: options.contextSize ?? 4096,
      threads: options.threads ?? Math.max(1, availableParallelism() - 1),
    });
    const wrapper = lib.resolveChatWrapper(model) ?? new lib.GeneralChatWrapper();
    return new LlamaEngine(llama, model, context, wrapper, lib, parallel);
  }

  /** Requests waiting for a sequence. */
  get queued(): number {
    return this.waiting.length;
  }

  /** The model's file name without extension (what /v1/models lists). */
  get modelName(): string {
    return (this.model.filename ?? 'model').replace(/\.gguf$/i, '');
  }

  async generate(request: GenerationRequest, signal?: AbortSignal): Promise<Generation> {
    const sequence = await this.takeSequence(signal);
    try {
      return request.messages ? await this.chat(sequence, request, signal) : await this.complete(sequence, request, signal);
    } finally {
      await sequence.clearHistory().catch(() => undefined);
      this.giveBack(sequence);
    }
  }

  private sampling(request: GenerationRequest, signal?: AbortSignal) {
    return {
      maxTokens: request.maxTokens,
      temperature: request.temperature ?? 0,
      topP: request.topP,
      topK: request.topK,
      seed: request.seed,
      customStopTriggers: request.stop?.length ? request.stop : undefined,
      onTextChunk: request.onText,
      signal,
    };
  }

  private async chat(sequence: LlamaContextSequence, request: GenerationRequest, signal?: AbortSignal): Promise<Generation> {
    const messages = request.messages!;
    const last = messages.at(-1);
    if (last?.role !== 'user') throw new Error('the last message must be from the user');
    const history: ChatHistoryItem[] = [];
    for (const m of messages.slice(0, -1)) {
      if (m.role === 'system') history.push({ type: 'system', text: m.content });
      else if (m.role === 'user') history.push({ type: 'user', text: m.content });
      else history.push({ type: 'model', response: [m.content] });
    }
    const session = new this.lib.LlamaChatSession({ contextSequence: sequence, chatWrapper: this.chatWrapper, autoDisposeSequence: false });
    try {
      if (history.length) session.setChatHistory(history);
      const out = await session.promptWithMeta(last.content, this.sampling(request, signal));
      return this.generation(request, () => messages.map((m) => m.content).join('\n'), out.responseText, out.stopReason);
    } finally {
      session.dispose({ disposeSequence: false });
    }
  }

  private async complete(sequence: LlamaContextSequence, request: GenerationRequest, signal?: AbortSignal): Promise<Generation> {
    const completion = new this.lib.LlamaCompletion({ contextSequence: sequence });
    try {
      const out = await completion.generateCompletionWithMeta(request.prompt ?? '', this.sampling(request, signal));
      return this.generation(request, () => request.prompt ?? '', out.response, out.metadata.stopReason);
    } finally {
      completion.dispose();
    }
  }

  private generation(request: GenerationRequest, prompt: () => string, text: string, stopReason: string): Generation {
    if (stopReason === 'abort') throw Object.assign(new Error('generation aborted'), { name: 'AbortError' });
    return {
      text,
      finishReason: stopReason === 'maxTokens' ? 'length' : 'stop',
      promptTokens: request.countTokens ? this.model.tokenize(prompt()).length : 0,
      completionTokens: request.countTokens ? this.model.tokenize(text).length : 0,
    };
  }

  private takeSequence(signal?: AbortSignal): Promise<LlamaContextSequence> {
    if (this.closed) return Promise.reject(new Error('the engine is closed'));
    signal?.throwIfAborted();
    const ready = this.free.pop();
    if (ready) return Promise.resolve(ready);
    return new Promise((resolve, reject) => {
      const take = (s: LlamaContextSequence) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(s);
      };
      const entry = { take, fail: reject };
      const onAbort = () => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(entry);
    });
  }

  private giveBack(sequence: LlamaContextSequence): void {
    const next = this.waiting.shift();
    if (next) next.take(sequence);
    else this.free.push(sequence);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of this.waiting.splice(0)) w.fail(new Error('the engine is closed'));
    await this.context.dispose();
    await this.model.dispose();
    await this.llama.dispose();
  }
}
