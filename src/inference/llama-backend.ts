import { LlamaEngine, type LlamaEngineOptions } from '../../actors/inference/llama-engine.js';
// through the package's public name, so the built subpath shares the main bundle's classes
import { InferenceBackend, type AITaskSpec as AITask, type InferenceOptions } from 'rhapsody';
import { checkLlamaOptions } from './llama-options.js';

export interface LlamaCppInferenceBackendOptions extends LlamaEngineOptions, InferenceOptions {
  name?: string;
}

/**
 * The embedded engine (node-llama-cpp, CPU): no external service. One model, one context with
 * `parallel` sequences decoded together (continuous batching); requests beyond them queue. It serves
 * one model, so `AITask.model` is informational here. An unset `temperature` means greedy.
 *
 * @example
 * import { LlamaCppInferenceBackend } from 'rhapsody/inference/llama';
 * const llm = await LlamaCppInferenceBackend.create({ modelPath: 'tiny.gguf' });
 */
export class LlamaCppInferenceBackend extends InferenceBackend {
  private engine: LlamaEngine | null = null;
  private readonly engineOptions: LlamaEngineOptions;

  constructor(options: LlamaCppInferenceBackendOptions) {
    // the engine queues by itself; the in-flight limit only bounds what waits inside it
    super(checkLlamaOptions(options).name ?? 'llama', { maxInFlight: 1024, maxAttempts: 1, ...options });
    this.engineOptions = options;
  }

  static async create(options: LlamaCppInferenceBackendOptions): Promise<LlamaCppInferenceBackend> {
    return new LlamaCppInferenceBackend(options).start();
  }

  get target(): string {
    return `model ${this.engineOptions.modelPath}`;
  }

  protected async onStart(): Promise<void> {
    this.reportProgress({ detail: `loading ${this.engineOptions.modelPath}` });
    this.engine = await LlamaEngine.load(this.engineOptions);
    this.reportProgress({ detail: null, log: `loaded ${this.engine.modelName}: ${this.engine.parallel} sequences` });
  }

  protected async generate(task: AITask, prompt: string, signal: AbortSignal): Promise<string> {
    const g = await this.engine!.generate(
      {
        messages: this.chatMessages(task, prompt),
        maxTokens: task.maxTokens,
        temperature: task.temperature,
        topP: task.topP,
        topK: task.topK,
        stop: task.stopSequences ? [...task.stopSequences] : undefined,
      },
      signal,
    );
    return g.text;
  }

  protected override async onShutdown(): Promise<void> {
    await super.onShutdown();
    await this.engine?.close();
    this.engine = null;
  }
}
