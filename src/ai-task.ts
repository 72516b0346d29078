import { aiTaskSchema, validateTask } from './task-schemas.js';
import { BaseTask, uidOf } from './task-base.js';
import type { RetryPolicy } from '../machines/task-guards.js';
import type { PromptFunction, RetryOptions, TaskResult } from './task-types.js';
import type { AITaskSpec } from './run/task-handle.js';
import { refusePythonKeys } from './python-keys.js';

export interface AITaskOptions {
  /** or a function of the results of `dependsOn` (in that order), evaluated when they are DONE */
  prompt: string | string[] | PromptFunction;
  model?: string;
  inferenceEndpoint?: string;
  systemPrompt?: string;
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  topK?: number;
  stopSequences?: string[];
  uid?: string;
  backend?: string;
  dependsOn?: Array<PromiseLike<TaskResult>>;
  retries?: number | RetryOptions;
  [extra: string]: unknown;
}

const KNOWN = new Set(['prompt', 'model', 'inferenceEndpoint', 'systemPrompt', 'temperature', 'maxTokens', 'topP', 'topK', 'stopSequences', 'uid', 'backend', 'dependsOn', 'retries']);

/**
 * An inference request. Needs one of `model` / `inferenceEndpoint` / `backend`.
 *
 * @example
 * const t = new AITask({ prompt: 'Summarise: …', model: 'tiny', maxTokens: 32 });
 */
export class AITask extends BaseTask {
  readonly kind = 'ai' as const;
  /**
   * The prompt as the backend gets it. A prompt given as a function stays that function until the
   * task starts, when it is replaced by its value (see docs/task-graph.md).
   */
  readonly prompt: string | string[];
  readonly model: string | undefined;
  readonly inferenceEndpoint: string | undefined;
  readonly systemPrompt: string | undefined;
  readonly temperature: number | undefined;
  readonly maxTokens: number | undefined;
  readonly topP: number | undefined;
  readonly topK: number | undefined;
  readonly stopSequences: string[] | undefined;

  constructor(options: AITaskOptions) {
    const uid = uidOf(options);
    refusePythonKeys(options, uid, KNOWN);
    const o = validateTask(aiTaskSchema, options ?? {}, uid) as AITaskOptions & { retries?: RetryPolicy };
    super(uid, o.backend, { dependsOn: o.dependsOn, retries: o.retries });
    this.prompt = o.prompt as string | string[];
    this.model = o.model;
    this.inferenceEndpoint = o.inferenceEndpoint;
    this.systemPrompt = o.systemPrompt;
    this.temperature = o.temperature;
    this.maxTokens = o.maxTokens;
    this.topP = o.topP;
    this.topK = o.topK;
    this.stopSequences = o.stopSequences;
    this.keepExtras(o, KNOWN);
  }

  /** @internal */
  _spec(): AITaskSpec {
    return Object.freeze({
      kind: 'ai',
      uid: this.uid,
      prompt: this.prompt,
      model: this.model,
      inferenceEndpoint: this.inferenceEndpoint,
      systemPrompt: this.systemPrompt,
      temperature: this.temperature,
      maxTokens: this.maxTokens,
      topP: this.topP,
      topK: this.topK,
      stopSequences: this.stopSequences,
    });
  }

  protected inputFields(): Record<string, unknown> {
    return {
      prompt: this.prompt,
      model: this.model,
      inferenceEndpoint: this.inferenceEndpoint,
      systemPrompt: this.systemPrompt,
      temperature: this.temperature,
      maxTokens: this.maxTokens,
      topP: this.topP,
      topK: this.topK,
      stopSequences: this.stopSequences,
    };
  }
}
