import { createInspector } from '@statelyai/inspect';
import { describe, expect, it } from 'vitest';
import { ComputeTask, ConcurrentExecutionBackend, Session } from '../../src/index.js';
import { runOf } from '../../src/task-base.js';

interface Seen {
  type: string;
  sessionId: string;
  src?: string;
  event?: { type: string };
  snapshotValue?: unknown;
}

describe('inspection', () => {
  it('reaches the session, backend and task actors through @statelyai/inspect', async () => {
    const seen: Seen[] = [];
    const inspector = createInspector({
      send: (e: any) => seen.push({ type: e.type, sessionId: e.sessionId, src: (e as { definition?: string }).definition, event: e.event, snapshotValue: e.snapshot?.value }),
    });
    const backend = await ConcurrentExecutionBackend.create({ name: 'inspected', executor: 'inline' });
    const session = new Session({ backends: [backend], inspect: inspector.inspect });
    const t = new ComputeTask({ uid: 'inspected-task', function: () => 1 });
    await session.submitTasks([t]);
    await t;
    await session.close();
    await new Promise((r) => setTimeout(r, 50)); // the inspector hands events over asynchronously

    const actorIds = (type: string) => new Set(seen.filter((e) => e.type === type).map((e) => e.sessionId));
    const actors = seen.filter((e) => e.type === '@xstate.actor');
    const definitions = actors.map((a) => a.src ?? '');
    expect(definitions.some((d) => d.includes('"id":"session"'))).toBe(true);
    expect(definitions.some((d) => d.includes('"id":"backend"'))).toBe(true);
    expect(definitions.some((d) => d.includes('"id":"task"'))).toBe(true);
    // events and snapshots for each kind of actor
    const eventTypes = seen.filter((e) => e.type === '@xstate.event').map((e) => e.event?.type);
    for (const ev of ['SUBMIT_BATCH', 'SUBMIT', 'QUEUE', 'START', 'COMPLETE', 'STOPPED', 'CLOSE']) expect(eventTypes).toContain(ev);
    const snapshots = seen.filter((e) => e.type === '@xstate.snapshot').map((e) => JSON.stringify(e.snapshotValue));
    for (const v of ['"DONE"', '"CLOSED"', '"SHUTDOWN"', '{"RUNNING":"active"}']) expect(snapshots).toContain(v);
    expect(actorIds('@xstate.snapshot').size).toBeGreaterThanOrEqual(3);
  });

  it('costs no task actors when inspection is off', async () => {
    await using session = new Session({ backends: [new ConcurrentExecutionBackend({ executor: 'inline' })] });
    const t = new ComputeTask({ function: () => 1 });
    await session.submitTasks([t]);
    expect(runOf(t)!.actor).toBeNull();
    await t;
  });
});
