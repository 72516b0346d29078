// Telemetry of a task graph with retries through a real session: the submitted event carries the
// dependencies and why the task waits, each attempt's events carry its number, a retry is its own
// event with the delay, a dependency failure names the dependency; events$ and the checkpoint agree,
// and a plain task's lines are as before.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, describe, expect, it } from 'vitest';
import { ComputeTask, ConcurrentExecutionBackend, Session, type TaskTelemetryEvent, type TelemetryEvent } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses } from '../helpers.js';

const mark = markProcesses();
afterAll(() => expectNoProcessesLeft(mark));

describe('telemetry of a task graph with retries', () => {
  it('records edges, waiting, attempts, retries and dependency failures in events$, the checkpoint and spans', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rh-tel-graph-'));
    const checkpointPath = join(dir, 'run.jsonl');
    const exporter = new InMemorySpanExporter();
    const session = new Session({ uid: 'tel-graph', backends: [await ConcurrentExecutionBackend.create({ executor: 'inline' })] });
    const telemetry = await session.startTelemetry({ checkpointPath, resourcePollInterval: 0, spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const all = lastValueFrom(telemetry.events$.pipe(toArray()));
    let tries = 0;
    const plain = new ComputeTask({ uid: 'plain', function: () => 1 });
    const gate = new ComputeTask({ uid: 'gate', executable: '/bin/sleep', arguments: ['0.1'] });
    const bad = new ComputeTask({ uid: 'bad', executable: '/bin/sh', arguments: ['-c', 'exit 3'], dependsOn: [gate] });
    const dep = new ComputeTask({ uid: 'dep', function: (x: unknown) => x, args: [bad] });
    const dep2 = new ComputeTask({ uid: 'dep2', function: () => 1, dependsOn: [dep, gate] });
    const flaky = new ComputeTask({
      uid: 'flaky',
      function: () => {
        if (++tries < 3) throw new Error(`try ${tries}`);
        return tries;
      },
      retries: { max: 3, delay: 20, factor: 2, on: 'any' },
      dependsOn: [gate],
    });
    const tasks = [plain, gate, bad, dep, dep2, flaky];
    await session.submitTasks(tasks);
    await session.waitTasks(tasks);
    const spans = telemetry.taskSpans();
    const otelSpans = exporter.getFinishedSpans();
    await session.close();
    const events = (await all).filter((e): e is TaskTelemetryEvent => e.type.startsWith('task.'));
    const of = (uid: string) => events.filter((e) => e.uid === uid);
    const pick = (e: TaskTelemetryEvent) => {
      const { t: _t, session: _s, backend: _b, ...rest } = e;
      return rest;
    };

    expect(of('dep2').map(pick)).toEqual([
      { type: 'task.created', uid: 'dep2' },
      { type: 'task.submitted', uid: 'dep2', dependencies: ['dep', 'gate'], pendingReason: 'dependencies' },
      { type: 'task.failed', uid: 'dep2', exitCode: null, error: 'Task dep2: dependency dep failed', dependencyUid: 'dep' },
    ]);
    expect(of('dep').at(-1)).toMatchObject({ type: 'task.failed', dependencyUid: 'bad' });
    expect(of('flaky').map(pick)).toEqual([
      { type: 'task.created', uid: 'flaky' },
      { type: 'task.submitted', uid: 'flaky', dependencies: ['gate'], pendingReason: 'dependencies' },
      { type: 'task.queued', uid: 'flaky' },
      { type: 'task.started', uid: 'flaky', attempt: 1 },
      { type: 'task.retrying', uid: 'flaky', attempt: 1, pendingReason: 'retry', delayMs: 20, error: 'try 1' },
      { type: 'task.started', uid: 'flaky', attempt: 2 },
      { type: 'task.retrying', uid: 'flaky', attempt: 2, pendingReason: 'retry', delayMs: 40, error: 'try 2' },
      { type: 'task.started', uid: 'flaky', attempt: 3 },
      { type: 'task.completed', uid: 'flaky', exitCode: null, attempt: 3 },
    ]);
    // a task without dependencies or retries: the events it always had, nothing more
    expect(of('plain').map(pick)).toEqual([
      { type: 'task.created', uid: 'plain' },
      { type: 'task.submitted', uid: 'plain' },
      { type: 'task.queued', uid: 'plain' },
      { type: 'task.started', uid: 'plain' },
      { type: 'task.completed', uid: 'plain', exitCode: null },
    ]);

    // the checkpoint holds the same task events, field for field (it omits the session)
    const lines = (await readFile(checkpointPath, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as TelemetryEvent & Record<string, unknown>);
    const fileTasks = lines.filter((l) => l.type.startsWith('task.'));
    expect(fileTasks).toEqual(events.map(({ session: _s, ...rest }) => rest));

    expect(spans.find((s) => s.uid === 'flaky')).toMatchObject({ state: 'DONE', attempts: 3, dependencies: ['gate'] });
    expect(spans.find((s) => s.uid === 'dep2')).toMatchObject({ state: 'FAILED', attempts: 0, dependencies: ['dep', 'gate'] });
    expect(spans.find((s) => s.uid === 'plain')).toMatchObject({ attempts: 1, dependencies: [] });
    const otel = new Map(otelSpans.map((s) => [s.attributes['rhapsody.task.uid'], s.attributes]));
    expect(otel.get('flaky')).toMatchObject({ 'rhapsody.task.attempts': 3, 'rhapsody.task.dependencies': ['gate'] });
    expect(otel.get('dep2')).toMatchObject({ 'rhapsody.task.dependency_uid': 'dep', 'rhapsody.task.dependencies': ['dep', 'gate'] });
    expect(Object.keys(otel.get('plain')!).sort()).toEqual(['rhapsody.backend', 'rhapsody.state', 'rhapsody.task.uid']);
  });
});
