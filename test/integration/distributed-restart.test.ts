// Redis restarting under a running distributed backend, against a real redis-server and real workers.
import { afterAll, describe, expect, it } from 'vitest';
import { RedisServer } from '../../actors/distributed/redis-server.js';
import { ComputeTask, DistributedExecutionBackend, LocalCluster, Session } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses } from '../helpers.js';

const mark = markProcesses();
afterAll(() => expectNoProcessesLeft(mark, 15_000));

describe('DistributedExecutionBackend and a Redis restart', () => {
  it.each([
    ['right after submitting', false],
    ['while a task runs', true],
  ])(
    '%s: in-flight tasks complete or fail cleanly with a BackendError; later tasks complete',
    async (_when, whileRunning) => {
      const redis = await RedisServer.start();
      const backend = await DistributedExecutionBackend.create({ connection: redis.url, cluster: new LocalCluster([{}, {}]) });
      const s = new Session({ backends: [backend] });
      try {
        const inFlight = [new ComputeTask({ executable: '/bin/sleep', arguments: ['1'] }), new ComputeTask({ function: () => 1 })];
        await s.submitTasks(inFlight);
        if (whileRunning) while (inFlight[0]!.state !== 'RUNNING') await new Promise((r) => setTimeout(r, 20));
        await redis.close();
        await redis.start();
        await s.waitTasks(inFlight, { timeout: 60_000 });
        for (const t of inFlight) {
          if (t.state === 'FAILED') expect((t.exception as Error & { cause?: Error }).cause?.name).toBe('BackendError');
          else expect(t.state).toBe('DONE');
        }
        const after = Array.from({ length: 20 }, (_, i) => new ComputeTask({ function: (x: number) => x * 2, args: [i] }));
        await s.submitTasks(after);
        await s.waitTasks(after, { timeout: 30_000 });
        expect(after.map((t) => t.state)).toEqual(after.map(() => 'DONE'));
        expect(after.map((t) => t.returnValue)).toEqual(after.map((_, i) => i * 2));
      } finally {
        await s.close();
        await redis.close();
      }
    },
    120_000,
  );
});
