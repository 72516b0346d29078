import { createActor, fromPromise, type Actor, type SnapshotFrom } from 'xstate';
import { inferenceRequestMachine, isRetryable } from '../../../machines/inference-request.machine.js';
import { BackendError, RhapsodyError } from '../../errors.js';
import type { AITaskSpec, TaskHandle, TaskSpec } from '../../run/task-handle.js';
import { Backend } from '../backend.js';

type AITask = TaskHandle<AITaskSpec>;

/** What every inference backend accepts besides its own options. */
export interface InferenceOptions {
  /** requests sent at once; more wait `QUEUED` (default 32) */
  maxInFlight?: number;
  /** client-side micro-batching: hold requests until this many are queued… (default 1: off) */
  maxBatchSize?: number;
  /** …or until the first has waited this long (ms, default 5) */
  maxBatchWaitMs?: number;
  /** attempts per request, retries included, for refused connections, 429 and 5xx (default 4) */
  maxAttempts?: number;
  /** first retry delay in ms, doubling per retry (default 250) */
  backoffMs?: number;
  /** per-attempt deadline in ms (default 120,000; 0 = none) */
  requestTimeoutMs?: number;
}

type RequestActor = Actor<typeof inferenceRequestMachine>;

interface Entry {
  task: AITask;
  actor: RequestActor;
}

/**
 * Common inference path: each AITask becomes an inference-request actor (queued → sending →
 * done | failed | canceled, with bounded retries and backoff), granted a slot under `maxInFlight`.
 * A prompt list is one request whose prompts go out together; `response` keeps their order.
 * Subclasses implement `generate` (one prompt → text) and `target` (what errors name).
 *
 * @example
 * class UpperBackend extends InferenceBackend {
 *   constructor() { super('upper', { maxInFlight: 8 }); }
 *   get target() { return 'upper-case echo'; }
 *   protected async onStart() {}
 *   protected async generate(_task: AITaskSpec, prompt: string) { return prompt.toUpperCase(); }
 * }
 */
export abstract class InferenceBackend extends Backend {
  readonly kind = 'inference' as const;
  protected readonly inference: Required<InferenceOptions>;
  private readonly entries = new Map<string, Entry>();
  private active = 0;
  private batchTimer: NodeJS.Timeout | null = null;
  private flushing = false;
  private readonly requestLogic: typeof inferenceRequestMachine;

  protected constructor(name: string, options: InferenceOptions = {}) {
    super(name);
    this.inference = {
      maxInFlight: options.maxInFlight ?? 32,
      maxBatchSize: options.maxBatchSize ?? 1,
      maxBatchWaitMs: options.maxBatchWaitMs ?? 5,
      maxAttempts: options.maxAttempts ?? 4,
      backoffMs: options.backoffMs ?? 250,
      requestTimeoutMs: options.requestTimeoutMs ?? 120_000,
    };
    this.requestLogic = inferenceRequestMachine.provide({
      actors: { send: fromPromise<unknown, { uid: string; attempt: number }>(({ input, signal }) => this.perform(this.entries.get(input.uid)!.task.spec, signal)) },
    });
  }

  /** Where requests go, as errors name it (an endpoint URL without credentials, a model file). */
  abstract get target(): string;

  /** One prompt → generated text. Errors marked `retryable: true` are retried with backoff. */
  protected abstract generate(task: AITaskSpec, prompt: string, signal: AbortSignal): Promise<string>;

  accepts(spec: TaskSpec): boolean {
    return spec.kind === 'ai';
  }

  /** One prompt as a chat: the task's system prompt, if any, then the prompt as the user's turn. */
  protected chatMessages(task: AITaskSpec, prompt: string): Array<{ role: 'system' | 'user'; content: string }> {
    return task.systemPrompt
      ? [
          { role: 'system', content: task.systemPrompt },
          { role: 'user', content: prompt },
        ]
      : [{ role: 'user', content: prompt }];
  }

  /**
   * The in-flight limit is the capacity predicate; with micro-batching, requests are held until a
   * batch is full or the first has waited `maxBatchWaitMs`.
   */
  protected override reserve(_h: TaskHandle): boolean {
    const { maxBatchSize, maxBatchWaitMs, maxInFlight } = this.inference;
    if (this.active >= maxInFlight) return false;
    if (maxBatchSize > 1 && !this.flushing) {
      if (this.waiting < maxBatchSize) {
        this.batchTimer ??= setTimeout(() => {
          this.batchTimer = null;
          this.flushing = true;
          this.pump();
        }, maxBatchWaitMs);
        return false;
      }
      this.flushing = true; // a full batch: it goes now, with whatever queued behind it
    }
    if (this.waiting <= 1) this.flushing = false;
    this.active++;
    return true;
  }

  protected override released(_h: TaskHandle): void {
    this.active--;
  }

  /**
   * One request actor per task (queued → sending → done | failed | canceled, with retries). A task
   * with its own `retries` (max > 0) gets one attempt per run: what the request chart would retry (refused or
   * lost connection, 429, 5xx) is then an infrastructure failure for the task's policy, so a
   * failure is retried by one chart, never by both.
   */
  protected run(task: AITask): void {
    const actor = createActor(this.requestLogic, {
      id: `request:${task.uid}`,
      input: { uid: task.uid, maxAttempts: task.retries?.max ? 1 : this.inference.maxAttempts, backoffMs: this.inference.backoffMs },
      inspect: this._inspectHub.active ? this._inspectHub.inspect : undefined,
    });
    const entry: Entry = { task, actor };
    this.entries.set(task.uid, entry);
    actor.subscribe({ next: (s) => this.follow(entry, s), error: () => undefined });
    task.onAbort(() => actor.send({ type: 'CANCEL' }));
    actor.start();
    actor.send({ type: 'SLOT' });
  }

  /** Mirrors the request actor onto the task's lifecycle. */
  private follow(entry: Entry, s: SnapshotFrom<typeof inferenceRequestMachine>): void {
    const { task } = entry;
    if (s.value === 'sending' && task.state === 'QUEUED') task.start();
    if (s.status !== 'done') return;
    this.entries.delete(task.uid);
    if (s.value === 'done') task.complete({ response: s.context.response });
    else if (s.value === 'canceled') task.canceled();
    else task.fail(this.asBackendError(task, s.context.error), { infrastructure: isRetryable(s.context.error) });
  }

  private asBackendError(task: AITask, error: unknown): Error {
    if (error instanceof RhapsodyError) return error;
    const message = (error as Error)?.message ?? String(error);
    return new BackendError(`Task ${task.uid}: ${this.target}: ${message}`, this.name, { cause: error });
  }

  /** One attempt: every prompt of the task, under the per-attempt deadline. */
  private async perform(task: AITaskSpec, signal: AbortSignal): Promise<string | string[]> {
    const ms = this.inference.requestTimeoutMs;
    const deadline = ms > 0 ? AbortSignal.timeout(ms) : null;
    const both = deadline ? AbortSignal.any([signal, deadline]) : signal;
    const prompts = Array.isArray(task.prompt) ? task.prompt : [task.prompt];
    try {
      const texts = await Promise.all(prompts.map((p) => this.generate(task, p, both)));
      return Array.isArray(task.prompt) ? texts : texts[0]!;
    } catch (err) {
      if (!signal.aborted && deadline?.aborted) {
        throw new BackendError(`Task ${task.uid}: ${this.target} did not answer within ${ms} ms`, this.name, { cause: err });
      }
      throw err;
    }
  }

  protected async onShutdown(): Promise<void> {
    if (this.batchTimer) clearTimeout(this.batchTimer);
    this.batchTimer = null;
  }
}
