import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { AggregationTemporality, DataPointType, MetricReader } from '@opentelemetry/sdk-metrics';
import { lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { ComputeTask, ConcurrentExecutionBackend, Session, type TaskTelemetryEvent, type TelemetryEvent } from '../../src/index.js';

class TestMetricReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onShutdown(): Promise<void> {}
  protected async onForceFlush(): Promise<void> {}
}

const workload = () => [
  new ComputeTask({ uid: 'ok-fn', function: (x: number) => x * 2, args: [21] }),
  new ComputeTask({ uid: 'ok-exe', executable: '/bin/echo', arguments: ['hi'] }),
  new ComputeTask({ uid: 'bad-exe', executable: '/bin/sh', arguments: ['-c', 'exit 5'] }),
  new ComputeTask({
    uid: 'bad-fn',
    function: () => {
      throw new Error('kaput');
    },
  }),
];

async function tmp() {
  return mkdtemp(join(tmpdir(), 'rh-tel-'));
}

describe('telemetry', () => {
  it('emits typed lifecycle events, checkpoints every one of them, and summarises', async () => {
    const dir = await tmp();
    const checkpointPath = join(dir, 'run.jsonl');
    const session = new Session({ uid: 'tel-session', backends: [new ConcurrentExecutionBackend({ executor: 'inline' })] });
    const telemetry = await session.startTelemetry({ checkpointPath, resourcePollInterval: 20, checkpointInterval: 50 });
    expect(await session.startTelemetry()).toBe(telemetry);
    const all = lastValueFrom(telemetry.events$.pipe(toArray()));
    const tasks = workload();
    await session.submitTasks(tasks);
    await session.waitTasks(tasks);
    await new Promise((r) => setTimeout(r, 60));
    const summary = telemetry.summary();
    await session.close();
    const events = await all;

    const ofTask = (uid: string) => events.filter((e): e is Extract<TelemetryEvent, { uid: string }> => 'uid' in e && e.uid === uid).map((e) => e.type);
    expect(ofTask('ok-fn')).toEqual(['task.created', 'task.submitted', 'task.queued', 'task.started', 'task.completed']);
    expect(ofTask('bad-exe').at(-1)).toBe('task.failed');
    const failed = events.find((e) => e.type === 'task.failed' && e.uid === 'bad-exe') as TaskTelemetryEvent;
    expect(failed.exitCode).toBe(5);
    expect(events.some((e) => e.type === 'resource.sample' && e.cpuPercent >= 0 && e.rssBytes > 0)).toBe(true);
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['backend.stopped', 'session.ended']));
    expect(events.at(-1)?.type).toBe('session.ended');

    expect(summary.counts).toMatchObject({ DONE: 2, FAILED: 2 });
    expect(summary.latency.total.count).toBe(4);
    expect(
      telemetry
        .taskSpans()
        .map((s) => s.uid)
        .sort(),
    ).toEqual(['bad-exe', 'bad-fn', 'ok-exe', 'ok-fn']);
    expect(telemetry.readMetrics().tasks.DONE).toBe(2);

    const lines = (await readFile(checkpointPath, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    // events$ subscribers joined after session.started and backend.started; the file has everything
    expect(lines[0]).toMatchObject({ type: 'session.started', session: 'tel-session' });
    expect(lines.filter((l) => l.type.startsWith('task.'))).toHaveLength(events.filter((e) => e.type.startsWith('task.')).length);
    expect(lines.map((l) => l.type)).toContain('backend.started');
    expect(lines.at(-1).type).toBe('session.ended');
  });

  it('exports one OpenTelemetry span per task and metrics by state', async () => {
    const exporter = new InMemorySpanExporter();
    const reader = new TestMetricReader();
    const session = new Session({ backends: [new ConcurrentExecutionBackend({ executor: 'inline' })] });
    await session.startTelemetry({ spanProcessors: [new SimpleSpanProcessor(exporter)], metricReaders: [reader], resourcePollInterval: 10 });
    const tasks = workload();
    await session.submitTasks(tasks);
    await session.waitTasks(tasks);
    await new Promise((r) => setTimeout(r, 30));
    const { resourceMetrics } = await reader.collect();
    const spans = exporter.getFinishedSpans();
    await session.close();

    expect(spans).toHaveLength(4);
    const byUid = Object.fromEntries(spans.map((s) => [s.attributes['rhapsody.task.uid'], s]));
    expect(byUid['bad-exe']!.attributes).toMatchObject({ 'rhapsody.state': 'FAILED', 'rhapsody.task.exit_code': 5, 'rhapsody.backend': 'concurrent' });
    expect(byUid['ok-exe']!.attributes['rhapsody.task.exit_code']).toBe(0);
    expect(byUid['bad-fn']!.status.message).toBe('kaput');

    const metrics = Object.fromEntries(resourceMetrics.scopeMetrics.flatMap((s) => s.metrics).map((m) => [m.descriptor.name, m]));
    const tasksMetric = metrics['rhapsody.tasks']!;
    const byState = Object.fromEntries(tasksMetric.dataPoints.map((d) => [d.attributes['rhapsody.state'], d.value]));
    expect(byState).toEqual({ DONE: 2, FAILED: 2 });
    expect(metrics['rhapsody.task.total_time']!.dataPointType).toBe(DataPointType.HISTOGRAM);
    for (const name of ['rhapsody.task.queue_time', 'rhapsody.task.execution_time', 'rhapsody.host.cpu', 'rhapsody.process.memory.rss']) {
      expect(metrics[name], name).toBeDefined();
    }
  });

  it('an unwritable checkpoint path is a clear error and tasks still run', async () => {
    // a path under a regular file cannot be created, even by root
    const file = join(await tmp(), 'a-file');
    await writeFile(file, 'x');
    await using session = new Session({ backends: [new ConcurrentExecutionBackend({ executor: 'inline' })] });
    const target = join(file, 'run.jsonl');
    await expect(session.startTelemetry({ checkpointPath: target })).rejects.toThrow(/cannot write the checkpoint file/);
    const t = new ComputeTask({ function: () => 'fine' });
    await session.submitTasks([t]);
    expect((await t).returnValue).toBe('fine');
  });

  it('a failing exporter becomes a telemetry.error event and never changes results', async () => {
    const throwing = {
      onStart() {},
      onEnd() {
        throw new Error('exporter down');
      },
      shutdown: async () => {},
      forceFlush: async () => {},
    };
    const run = async (withTelemetry: boolean) => {
      await using session = new Session({ backends: [new ConcurrentExecutionBackend({ executor: 'inline' })] });
      const errors: string[] = [];
      if (withTelemetry) {
        const tel = await session.startTelemetry({ spanProcessors: [throwing], resourcePollInterval: 0 });
        tel.events$.subscribe((e) => e.type === 'telemetry.error' && errors.push(e.message));
      }
      const tasks = workload();
      await session.submitTasks(tasks);
      await session.waitTasks(tasks);
      return { results: tasks.map((t) => [t.uid, t.state, t.returnValue, t.exitCode, t.stdout]), errors };
    };
    const on = await run(true);
    const off = await run(false);
    expect(on.results).toEqual(off.results);
    expect(on.errors[0]).toMatch(/OpenTelemetry export failed: exporter down/);
  });
});
