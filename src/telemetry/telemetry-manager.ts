import { type Observable, Subject } from 'rxjs';
import type { TaskStateName } from '../../machines/task.machine.js';
import { CheckpointWriter } from '../../actors/telemetry/checkpoint-writer.js';
import { ResourceSampler } from '../../actors/telemetry/resource-sampler.js';
import { RhapsodyError } from '../errors.js';
import { checkpointFile } from './checkpoint-path.js';
import type { TaskRun } from '../run/task-run.js';
import { LatencyHistogram, type HistogramSnapshot } from './latency-histogram.js';
import { OtelBridge, type MetricReaderLike, type SpanProcessorLike } from './otel-bridge.js';
import { EVENT_FOR_STATE, type ResourceSample, type TelemetryEvent } from './telemetry-events.js';
import { graphFields } from './graph-fields.js';

export interface TelemetryOptions {
  /** ms between resource samples; 0 turns sampling off. Default 1000. */
  resourcePollInterval?: number;
  /**
   * JSONL file that receives every event; or a directory (existing, or ending in `/`), which gets
   * `<session uid>.<unix seconds>.telemetry.jsonl` inside, as the Python original's `checkpoint_path`.
   */
  checkpointPath?: string;
  /** ms between checkpoint flushes. Default 1000. */
  checkpointInterval?: number;
  /** OpenTelemetry span processors (needs `@opentelemetry/sdk-trace-base`). */
  spanProcessors?: SpanProcessorLike[];
  /** OpenTelemetry metric readers (needs `@opentelemetry/sdk-metrics`). */
  metricReaders?: MetricReaderLike[];
  /** Finished task spans kept for `taskSpans()` (most recent). Default 10,000. */
  maxSpans?: number;
}

/** One finished task, as `taskSpans()` gives it. Times in ms since the epoch. */
export interface TaskSpan {
  uid: string;
  backend: string | null;
  state: TaskStateName;
  exitCode: number | null;
  submitted: number;
  /** the last attempt's start */
  started: number | null;
  ended: number;
  /** runs it took (0: it never ran, e.g. a dependency failed; more than 1: it was retried) */
  attempts: number;
  /** uids of its dependencies (none: empty) */
  dependencies: readonly string[];
}

export interface TelemetrySummary {
  session: string;
  startedAt: number;
  durationMs: number;
  events: number;
  counts: Record<TaskStateName, number>;
  latency: { queue: HistogramSnapshot; execution: HistogramSnapshot; total: HistogramSnapshot };
  lastResources: ResourceSample | null;
  errors: string[];
}

export interface TelemetryMetrics {
  tasks: Record<TaskStateName, number>;
  latency: TelemetrySummary['latency'];
  resources: ResourceSample | null;
}

/** What the manager needs from its session. */
export interface TelemetryHost {
  readonly uid: string;
  counts(): Record<TaskStateName, number>;
}

const NO_DEPENDENCIES: readonly string[] = Object.freeze([]);
const epoch = (perfMs: number) => Math.round((performance.timeOrigin + perfMs) * 1000) / 1000;
const TYPE_JSON: Record<string, string> = Object.fromEntries([...Object.values(EVENT_FOR_STATE), 'task.retrying'].map((t) => [t, JSON.stringify(t)]));

/**
 * Session telemetry: typed lifecycle events (`events$`), a JSONL checkpoint of every event,
 * OpenTelemetry spans and metrics, resource samples, and a summary. Never changes what tasks do:
 * a failing exporter or checkpoint becomes a `telemetry.error` event.
 *
 * @example
 * const telemetry: TelemetryManager = await session.startTelemetry({ checkpointPath: 'run.jsonl' });
 * telemetry.events$.subscribe((e) => e.type === 'task.failed' && console.error(e.uid, e.error));
 * console.log(telemetry.summary().counts.DONE, telemetry.readMetrics().latency.total);
 */
export class TelemetryManager {
  readonly events$: Observable<TelemetryEvent>;
  private readonly subject = new Subject<TelemetryEvent>();
  private readonly queue = new LatencyHistogram();
  private readonly execution = new LatencyHistogram();
  private readonly total = new LatencyHistogram();
  private readonly spans: TaskSpan[] = [];
  private spanHead = 0;
  private readonly maxSpans: number;
  private eventCount = 0;
  private lastResources: ResourceSample | null = null;
  private readonly errors: string[] = [];
  private readonly startedAt = Date.now();
  private sampler: NodeJS.Timeout | null = null;
  private stopped: Promise<void> | null = null;
  /** Writer codes: the start of each task line type, and the end of a line per backend. */
  private heads: Record<string, number> = {};
  private readonly tails = new Map<string | null, number>();

  private constructor(
    private readonly host: TelemetryHost,
    private readonly checkpoint: CheckpointWriter | null,
    private readonly otel: OtelBridge,
    options: TelemetryOptions,
  ) {
    this.events$ = this.subject.asObservable();
    this.maxSpans = options.maxSpans ?? 10_000;
  }

  /** @internal Use `session.startTelemetry()`. */
  static async start(host: TelemetryHost, options: TelemetryOptions = {}): Promise<TelemetryManager> {
    let checkpoint: CheckpointWriter | null = null;
    let manager: TelemetryManager | undefined;
    if (options.checkpointPath) {
      const file = await checkpointFile(options.checkpointPath, host.uid);
      checkpoint = new CheckpointWriter(file, options.checkpointInterval ?? 1000, (err) => manager?.reportError('checkpoint', `checkpoint ${file} stopped: ${err.message}`));
      try {
        await checkpoint.open();
      } catch (err) {
        throw new RhapsodyError(`Telemetry: cannot write the checkpoint file ${file}: ${(err as Error).message}`, { cause: err });
      }
    }
    let otel: OtelBridge;
    try {
      otel = await OtelBridge.create({ spanProcessors: options.spanProcessors, metricReaders: options.metricReaders, sessionUid: host.uid });
    } catch (err) {
      await checkpoint?.close();
      throw new RhapsodyError(`Telemetry: cannot set up OpenTelemetry (install @opentelemetry/sdk-trace-base / sdk-metrics): ${(err as Error).message}`, { cause: err });
    }
    manager = new TelemetryManager(host, checkpoint, otel, options);
    if (checkpoint) {
      manager.heads = Object.fromEntries(Object.entries(TYPE_JSON).map(([type, json]) => [type, checkpoint!.defineHead(`{"type":${json},"t":`)]));
    }
    manager.emit({ type: 'session.started', t: Date.now(), session: host.uid });
    const poll = options.resourcePollInterval ?? 1000;
    if (poll > 0) manager.startSampling(poll);
    return manager;
  }

  private startSampling(interval: number): void {
    const sampler = new ResourceSampler();
    let busy = false;
    const tick = async () => {
      if (busy || this.stopped) return;
      busy = true;
      try {
        const r = await sampler.sample();
        if (this.stopped) return;
        const sample: ResourceSample = { type: 'resource.sample', t: Date.now(), session: this.host.uid, ...r };
        this.lastResources = sample;
        this.otel.lastResources = r;
        this.emit(sample);
      } catch (err) {
        this.reportError('resources', (err as Error).message);
      } finally {
        busy = false;
      }
    };
    void tick();
    this.sampler = setInterval(() => void tick(), interval);
    this.sampler.unref();
  }

  private emit(event: TelemetryEvent): void {
    this.eventCount++;
    if (this.subject.observed) this.subject.next(event);
    this.checkpoint?.append(JSON.stringify(event));
  }

  private reportError(source: 'checkpoint' | 'spans' | 'metrics' | 'resources', message: string): void {
    this.errors.push(message);
    this.emit({ type: 'telemetry.error', t: Date.now(), session: this.host.uid, source, message });
  }

  /** @internal A task entered `state` (the session calls this on every transition). */
  _taskState(task: TaskRun, state: TaskStateName): void {
    if (this.stopped) return;
    this.eventCount++;
    const terminal = state === 'DONE' || state === 'FAILED' || state === 'CANCELED';
    const observed = this.subject.observed;
    if (observed || this.checkpoint) {
      const t = Date.now();
      // a task with dependencies or retries says more (its edges, why it waits, its attempt)
      const graph = task.dependencyUids !== null || task.retries !== null ? graphFields(task, state) : null;
      const type = graph === null ? EVENT_FOR_STATE[state] : graph.type;
      if (observed) {
        this.subject.next({
          type,
          t,
          session: this.host.uid,
          uid: task.uid,
          backend: task.backend,
          ...(terminal ? { exitCode: task.exitCode, ...(task.exception ? { error: task.exception.message } : {}) } : {}),
          ...graph?.fields,
        });
      }
      if (this.checkpoint) {
        // hand-built JSON, assembled by the writer thread: uids are validated path-safe; backend
        // names are escaped once. Task lines omit the session (session.started names it).
        const backend = task.backend;
        let tail = this.tails.get(backend);
        if (tail === undefined) this.tails.set(backend, (tail = this.checkpoint.defineTail(`,"backend":${JSON.stringify(backend)}}`)));
        let members = terminal ? `,"exitCode":${task.exitCode ?? null}${task.exception ? `,"error":${JSON.stringify(task.exception.message)}` : ''}` : '';
        if (graph !== null) members += graph.json;
        this.checkpoint.appendTask(this.heads[type]!, t, task.uid, tail, members === '' ? undefined : `${members}}`);
      }
    }
    if (terminal) this.taskEnded(task);
  }

  private taskEnded(task: TaskRun): void {
    this.total.record(task.endedAt - task.submittedAt);
    if (task.startedAt > 0) {
      this.queue.record(task.startedAt - task.submittedAt);
      this.execution.record(task.endedAt - task.startedAt);
    }
    const span: TaskSpan = {
      uid: task.uid,
      backend: task.backend,
      state: task.state,
      exitCode: task.exitCode,
      submitted: epoch(task.submittedAt),
      started: task.startedAt > 0 ? epoch(task.startedAt) : null,
      ended: epoch(task.endedAt),
      attempts: task.attempt,
      dependencies: task.dependencyUids ?? NO_DEPENDENCIES,
    };
    if (this.spans.length < this.maxSpans) this.spans.push(span);
    else {
      this.spans[this.spanHead] = span;
      this.spanHead = (this.spanHead + 1) % this.maxSpans;
    }
    if (this.otel.active) {
      try {
        this.otel.taskEnded(task);
      } catch (err) {
        if (this.errors.length < 100) this.reportError('spans', `OpenTelemetry export failed: ${(err as Error).message}`);
      }
    }
  }

  /** @internal */
  _backendEvent(type: 'backend.started' | 'backend.stopped', backend: string, kind: string): void {
    if (!this.stopped) this.emit({ type, t: Date.now(), session: this.host.uid, backend, kind });
  }

  /** The most recent finished tasks (up to `maxSpans`), oldest first. */
  taskSpans(): TaskSpan[] {
    return [...this.spans.slice(this.spanHead), ...this.spans.slice(0, this.spanHead)];
  }

  summary(): TelemetrySummary {
    return {
      session: this.host.uid,
      startedAt: this.startedAt,
      durationMs: Date.now() - this.startedAt,
      events: this.eventCount,
      counts: this.host.counts(),
      latency: { queue: this.queue.snapshot(), execution: this.execution.snapshot(), total: this.total.snapshot() },
      lastResources: this.lastResources,
      errors: [...this.errors],
    };
  }

  /** Current metric values (also exported to OpenTelemetry readers when given). */
  readMetrics(): TelemetryMetrics {
    const s = this.summary();
    return { tasks: s.counts, latency: s.latency, resources: s.lastResources };
  }

  /** The checkpoint file being written (inside `checkpointPath` when that is a directory); null without one. */
  get checkpointPath(): string | null {
    return this.checkpoint?.path ?? null;
  }

  /** Flushes the checkpoint now. */
  async flush(): Promise<void> {
    await this.checkpoint?.flush();
  }

  /** Emits `session.ended`, flushes and closes exporters and the checkpoint. Idempotent. */
  stop(): Promise<void> {
    if (!this.stopped) {
      this.emit({ type: 'session.ended', t: Date.now(), session: this.host.uid, counts: this.host.counts() });
      this.stopped = (async () => {
        if (this.sampler) clearInterval(this.sampler);
        try {
          await this.otel.shutdown();
        } catch (err) {
          this.errors.push(`OpenTelemetry shutdown failed: ${(err as Error).message}`);
        }
        await this.checkpoint?.close();
        this.subject.complete();
      })();
    }
    return this.stopped;
  }
}
