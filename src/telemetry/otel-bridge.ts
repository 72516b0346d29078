import { SpanStatusCode, type Counter, type Histogram, type Meter, type Tracer } from '@opentelemetry/api';
import { DependencyError } from '../errors.js';
import type { TaskRun } from '../run/task-run.js';
import type { ResourceReading } from './telemetry-events.js';

/** Structural types of the SDK pieces a caller hands us (the SDKs are optional peers). */
export interface SpanProcessorLike {
  onStart(...a: unknown[]): void;
  onEnd(...a: unknown[]): void;
  shutdown(): Promise<void>;
  forceFlush(): Promise<void>;
}
export interface MetricReaderLike {
  collect(...a: unknown[]): Promise<unknown>;
  shutdown(...a: unknown[]): Promise<void>;
}

const epoch = (perfMs: number) => performance.timeOrigin + perfMs;

/**
 * OpenTelemetry for a session: one span per task (uid, backend, state, exit code; attempts,
 * dependencies and the failed dependency for a graph), task counters by
 * state, latency histograms (queue, execution, total) and resource gauges. Providers are built from
 * `@opentelemetry/sdk-trace-base` / `sdk-metrics` only when processors / readers are given.
 */
export class OtelBridge {
  private tracer: Tracer | null = null;
  private meter: Meter | null = null;
  private tasks: Counter | null = null;
  private queue: Histogram | null = null;
  private execution: Histogram | null = null;
  private total: Histogram | null = null;
  private shutdowns: Array<() => Promise<void>> = [];
  lastResources: ResourceReading | null = null;

  static async create(opts: { spanProcessors?: SpanProcessorLike[]; metricReaders?: MetricReaderLike[]; sessionUid: string }): Promise<OtelBridge> {
    const bridge = new OtelBridge();
    if (opts.spanProcessors?.length) {
      const { BasicTracerProvider } = await import('@opentelemetry/sdk-trace-base');
      const provider = new BasicTracerProvider({ spanProcessors: opts.spanProcessors as never });
      bridge.tracer = provider.getTracer('rhapsody');
      bridge.shutdowns.push(() => provider.shutdown());
    }
    if (opts.metricReaders?.length) {
      const { MeterProvider } = await import('@opentelemetry/sdk-metrics');
      const provider = new MeterProvider({ readers: opts.metricReaders as never });
      bridge.meter = provider.getMeter('rhapsody');
      bridge.shutdowns.push(() => provider.shutdown());
      bridge.instrument(opts.sessionUid);
    }
    return bridge;
  }

  get active(): boolean {
    return this.tracer !== null || this.meter !== null;
  }

  private instrument(session: string): void {
    const m = this.meter!;
    this.tasks = m.createCounter('rhapsody.tasks', { description: 'Tasks that reached a terminal state, by state' });
    this.queue = m.createHistogram('rhapsody.task.queue_time', { unit: 'ms', description: 'submitted → running' });
    this.execution = m.createHistogram('rhapsody.task.execution_time', { unit: 'ms', description: 'running → terminal' });
    this.total = m.createHistogram('rhapsody.task.total_time', { unit: 'ms', description: 'submitted → terminal' });
    const gauge = (name: string, unit: string, read: (r: ResourceReading) => number | undefined) =>
      m.createObservableGauge(name, { unit }).addCallback((obs) => {
        const r = this.lastResources;
        const v = r ? read(r) : undefined;
        if (v !== undefined) obs.observe(v, { session });
      });
    gauge('rhapsody.host.cpu', '%', (r) => r.cpuPercent);
    gauge('rhapsody.host.memory.used', 'By', (r) => r.memUsedBytes);
    gauge('rhapsody.process.memory.rss', 'By', (r) => r.rssBytes);
    m.createObservableGauge('rhapsody.gpu.utilization', { unit: '%' }).addCallback((obs) => {
      for (const g of this.lastResources?.gpus ?? []) obs.observe(g.utilizationPercent, { gpu: g.index });
    });
    m.createObservableGauge('rhapsody.gpu.memory.used', { unit: 'MiBy' }).addCallback((obs) => {
      for (const g of this.lastResources?.gpus ?? []) obs.observe(g.memoryUsedMiB, { gpu: g.index });
    });
  }

  /** Records a terminal task. */
  taskEnded(task: TaskRun): void {
    const attrs = { 'rhapsody.backend': task.backend ?? '', 'rhapsody.state': task.state };
    if (this.meter) {
      this.tasks!.add(1, attrs);
      this.total!.record(task.endedAt - task.submittedAt, attrs);
      if (task.startedAt > 0) {
        this.queue!.record(task.startedAt - task.submittedAt, attrs);
        this.execution!.record(task.endedAt - task.startedAt, attrs);
      }
    }
    if (this.tracer) {
      const span = this.tracer.startSpan('rhapsody.task', {
        startTime: epoch(task.submittedAt),
        attributes: {
          'rhapsody.task.uid': task.uid,
          ...attrs,
          ...(task.exitCode !== null ? { 'rhapsody.task.exit_code': task.exitCode } : {}),
          ...(task.retries !== null || task.attempt > 1 ? { 'rhapsody.task.attempts': task.attempt } : {}),
          ...(task.dependencyUids !== null ? { 'rhapsody.task.dependencies': [...task.dependencyUids] } : {}),
          ...(task.exception instanceof DependencyError ? { 'rhapsody.task.dependency_uid': task.exception.dependencyUid } : {}),
        },
      });
      if (task.startedAt > 0) span.addEvent('started', epoch(task.startedAt));
      if (task.state === 'FAILED') span.setStatus({ code: SpanStatusCode.ERROR, message: task.exception?.message });
      span.end(epoch(task.endedAt));
    }
  }

  async shutdown(): Promise<void> {
    for (const s of this.shutdowns) await s();
  }
}
