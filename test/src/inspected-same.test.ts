// The chart's actions exist once (machines/task-actions.ts): the same workload inspected and not ends
// with identical task snapshots.
import { createInspector } from '@statelyai/inspect';
import { describe, expect, it } from 'vitest';
import { ComputeTask, ConcurrentExecutionBackend, Session, type InspectOption } from '../../src/index.js';

async function workload(inspect?: InspectOption) {
  const backend = await ConcurrentExecutionBackend.create({ executor: 'threads', maxWorkers: 1 });
  const session = new Session({ backends: [backend], ...(inspect ? { inspect } : {}) });
  const tasks = [
    new ComputeTask({ uid: 'ok', function: (n: number) => n * 2, args: [21] }),
    new ComputeTask({
      uid: 'throws',
      function: () => {
        throw new RangeError('bad');
      },
    }),
    new ComputeTask({ uid: 'echo', executable: '/bin/echo', arguments: ['hi'] }),
    new ComputeTask({ uid: 'exit3', executable: '/bin/sh', arguments: ['-c', 'echo out; echo err >&2; exit 3'] }),
    new ComputeTask({ uid: 'slow', executable: '/bin/sleep', arguments: ['30'] }),
  ];
  await session.submitTasks(tasks);
  await session.waitTasks(tasks.slice(0, 4));
  await tasks[4]!.cancel();
  await session.close();
  return tasks.map((t) => {
    const s = t.toJSON();
    return { ...s, exception: s.exception && { name: s.exception.name, message: s.exception.message } };
  });
}

describe('inspected and uninspected runs', () => {
  it('end with identical task snapshots', async () => {
    const plain = await workload();
    const inspector = createInspector({ send: () => undefined });
    const contexts = new Map<string, Record<string, unknown>>();
    const inspect = (ev: any) => {
      inspector.inspect.next?.(ev);
      if (ev.type === '@xstate.snapshot' && ev.snapshot?.context?.uid && ev.actorRef?.id === ev.snapshot.context.uid) contexts.set(ev.actorRef.id, ev.snapshot.context);
    };
    const inspected = await workload(inspect);
    expect(inspected).toEqual(plain);
    // the chart's own context ends with the same fields as the record
    for (const s of plain) {
      const c = contexts.get(s.uid)!;
      expect({ exitCode: c.exitCode, stdout: c.stdout, stderr: c.stderr, returnValue: c.returnValue, error: c.error && (c.error as Error).message }, s.uid).toEqual({
        exitCode: s.exitCode,
        stdout: s.stdout,
        stderr: s.stderr,
        returnValue: s.returnValue,
        error: s.exception?.message ?? null,
      });
    }
    expect(plain.map((s) => s.state)).toEqual(['DONE', 'FAILED', 'DONE', 'FAILED', 'CANCELED']);
    expect(plain[4]!.exception).toEqual({ name: 'TaskCanceledError', message: 'Task slow was canceled' });
  });
});
