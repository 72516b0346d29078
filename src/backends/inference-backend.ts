import { createActor, fromPromise, type Actor, type SnapshotFrom } from 'xstate';
import { inferenceRequestMachine } from '../../machines/inference-request.machine.js';
import { AITask } from '../ai-task.js';
import { BackendError, RhapsodyError } from '../errors.js';
import type { BaseTask } from '../task-base.js';
import { Backend, sendTask, type SubmitContext } from './backend.js';

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
  slotted: boolean;
}

/**
 * Common inference path: each AITask becomes an inference-request actor (queued → sending →
 * done | failed | canceled, with bounded retries and backoff), granted a slot under `maxInFlight`.
 * A prompt list is one request whose prompts go out together; `response` keeps their order.
 * Subclasses implement `generate` (one prompt → text) and `target` (what errors name).
 */
export abstract class InferenceBackend extends Backend {
  readonly kind = 'inference' as const;
  protected readonly inference: Required<InferenceOptions>;
  private readonly entries = new Map<string, Entry>();
  private readonly queue: Entry[] = [];
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
      actors: { send: fromPromise<unknown, { uid: string; attempt: number }>(({ input, signal }) => this.perform(this.entries.get(input.uid)!.task, signal)) },
    });
  }

  /** Where requests go, as errors name it (an endpoint URL without credentials, a model file). */
  abstract get target(): string;

  /** One prompt → generated text. Errors marked `retryable: true` are retried with backoff. */
  protected abstract generate(task: AITask, prompt: string, signal: AbortSignal): Promise<string>;

  accepts(task: BaseTask): boolean {
    return task instanceof AITask;
  }

  /** One prompt as a chat: the task's system prompt, if any, then the prompt as the user's turn. */
  protected chatMessages(task: AITask, prompt: string): Array<{ role: 'system' | 'user'; content: string }> {
    return task.systemPrompt ? [{ role: 'system', content: task.systemPrompt }, { role: 'user', content: prompt }] : [{ role: 'user', content: prompt }];
  }

  protected admit(tasks: BaseTask[], _ctx: SubmitContext): void {
    for (const task of tasks as AITask[]) {
      sendTask(task, { type: 'QUEUE' });
      const actor = createActor(this.requestLogic, {
        id: `request:${task.uid}`,
        input: { uid: task.uid, maxAttempts: this.inference.maxAttempts, backoffMs: this.inference.backoffMs },
        inspect: this._inspectHub.active ? this._inspectHub.inspect : undefined,
      });
      const entry: Entry = { task, actor, slotted: false };
      this.entries.set(task.uid, entry);
      actor.subscribe({ next: (s) => this.follow(entry, s), error: () => undefined });
      actor.start();
      task._exec = entry;
      this.queue.push(entry);
    }
    this.pump();
  }

  /** Mirrors the request actor onto the task's lifecycle. */
  private follow(entry: Entry, s: SnapshotFrom<typeof inferenceRequestMachine>): void {
    const { task } = entry;
    if (s.value === 'sending' && task.state === 'QUEUED') sendTask(task, { type: 'START' });
    if (s.status !== 'done') return;
    this.entries.delete(task.uid);
    if (entry.slotted) {
      entry.slotted = false;
      this.active--;
    }
    if (s.value === 'done') sendTask(task, { type: 'COMPLETE', response: s.context.response });
    else if (s.value === 'canceled') sendTask(task, { type: 'CANCEL' });
    else sendTask(task, { type: 'FAIL', error: this.asBackendError(task, s.context.error) });
    this.release(task);
    queueMicrotask(() => this.pump());
  }

  private asBackendError(task: AITask, error: unknown): Error {
    if (error instanceof RhapsodyError) return error;
    const message = (error as Error)?.message ?? String(error);
    return new BackendError(`Task ${task.uid}: ${this.target}: ${message}`, this.name, { cause: error });
  }

  /** Grants slots under the in-flight limit; with micro-batching, only to a full batch or after the wait. */
  private pump(): void {
    while (this.queue.length && this.queue[0]!.actor.getSnapshot().status !== 'active') this.queue.shift();
    if (this.queue.length === 0) {
      this.flushing = false;
      return;
    }
    const { maxBatchSize, maxBatchWaitMs, maxInFlight } = this.inference;
    if (maxBatchSize > 1 && !this.flushing && this.queue.length < maxBatchSize) {
      this.batchTimer ??= setTimeout(() => {
        this.batchTimer = null;
        this.flushing = true;
        this.pump();
      }, maxBatchWaitMs);
      return;
    }
    while (this.active < maxInFlight && this.queue.length) {
      const entry = this.queue.shift()!;
      if (entry.actor.getSnapshot().status !== 'active') continue;
      entry.slotted = true;
      this.active++;
      entry.actor.send({ type: 'SLOT' });
    }
  }

  /** One attempt: every prompt of the task, under the per-attempt deadline. */
  private async perform(task: AITask, signal: AbortSignal): Promise<string | string[]> {
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

  protected async cancelRunning(task: BaseTask): Promise<void> {
    const entry = this.entries.get(task.uid);
    if (entry) entry.actor.send({ type: 'CANCEL' });
    else if (sendTask(task, { type: 'CANCEL' })) this.release(task);
  }

  protected async onShutdown(): Promise<void> {
    if (this.batchTimer) clearTimeout(this.batchTimer);
    this.batchTimer = null;
  }
}
