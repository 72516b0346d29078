// Redis stopped under a running distributed backend (and not coming back): every task settles with a
// BackendError in bounded time, close() finishes whatever Redis does, nothing is left running
// (issue 11 item 5).
import { afterEach, describe, expect, it } from 'vitest';
import { RedisServer } from '../../actors/distributed/redis-server.js';
import { BackendError, ComputeTask, DistributedExecutionBackend, LocalCluster, Session } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses } from '../helpers.js';

const mark = markProcesses();
afterEach(async () => {
  await expectNoProcessesLeft(mark, 15_000);
});

/** A hang is a failure: the promise must settle within `ms` (a liveness bound, not a speed target). */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)));
  try {
    return await Promise.race([p, hang]);
  } finally {
    clearTimeout(timer);
  }
}

const backendErrorOf = (t: ComputeTask) => {
  const e = t.exception as (Error & { cause?: unknown }) | null;
  return e instanceof BackendError ? e : e?.cause instanceof BackendError ? e.cause : null;
};

async function setup() {
  const redis = await RedisServer.start();
  const backend = await DistributedExecutionBackend.create({ connection: redis.url, cluster: new LocalCluster([{}, {}]), redisTimeoutMs: 4000 }).catch(async (err: unknown) => {
    await redis.close();
    throw err;
  });
  const session = new Session({ backends: [backend] });
  const running = new ComputeTask({ executable: '/bin/sleep', arguments: ['300'] });
  await session.submitTasks([running]);
  while (running.state !== 'RUNNING') await new Promise((r) => setTimeout(r, 20));
  return { redis, backend, session, running };
}

describe('DistributedExecutionBackend with Redis stopped', () => {
  it('a task submitted afterwards and the running one fail with a BackendError; close() finishes', async () => {
    const { redis, session, running } = await setup();
    try {
      await redis.close();
      const later = new ComputeTask({ function: () => 1 });
      await session.submitTasks([later]);
      await within(session.waitTasks([later, running]), 30_000, 'the tasks');
      expect(later.state).toBe('FAILED');
      expect(backendErrorOf(later)?.message).toMatch(/Redis/);
      expect(running.state).toBe('FAILED');
      expect(backendErrorOf(running)?.message).toMatch(/Redis/);
    } finally {
      await within(session.close(), 30_000, 'session.close()');
      await redis.close();
    }
  }, 90_000);

  it('close() right after Redis stops, with a task running, finishes and settles the task', async () => {
    const { redis, session, running } = await setup();
    try {
      await redis.close();
      await within(session.close(), 30_000, 'session.close()');
      expect(['CANCELED', 'FAILED']).toContain(running.state);
    } finally {
      await redis.close();
    }
  }, 90_000);
});
