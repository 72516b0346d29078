// Retries on the distributed backend, against a real redis-server and real worker processes: a worker
// SIGKILLed under a task is an infrastructure failure; under `retries` the task runs again as a new,
// counted attempt on another worker; without, BullMQ's stalled-job check re-runs its job as before.
import { mkdtemp, readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisServer } from '../../actors/distributed/redis-server.js';
import { BackendError, ComputeTask, DistributedExecutionBackend, LocalCluster, Session, TaskExecutionError, type TaskEvent } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses, processesWithMark } from '../helpers.js';

const mark = markProcesses();
afterAll(() => expectNoProcessesLeft(mark, 15_000));

/** The worker process that is an ancestor of `pid` (null once it is an orphan). */
function workerOf(pid: number): number | null {
  try {
    for (let p = pid; p > 1; ) {
      const cmd = readFileSync(`/proc/${p}/cmdline`, 'latin1').replace(/\0/g, ' ');
      if (/cli\.(ts|js) worker /.test(cmd)) return p;
      p = Number(readFileSync(`/proc/${p}/stat`, 'latin1').split(') ')[1]!.split(' ')[1]);
    }
  } catch {
    // it exited meanwhile
  }
  return null;
}

/** Waits for a process running `needle` under a worker other than `not`; returns that worker. */
async function workerRunning(needle: string, not: number | null = null): Promise<number> {
  for (;;) {
    for (const p of processesWithMark(mark).filter((q) => q.cmd.includes(needle))) {
      const w = workerOf(p.pid);
      if (w !== null && w !== not) return w;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('DistributedExecutionBackend retries', () => {
  it('a worker SIGKILLed mid-task under retries: 1 is an infrastructure failure; the task runs again on another worker and ends DONE once, attempts 2', async () => {
    const backend = await DistributedExecutionBackend.create({ name: 'retries' });
    await using s = new Session({ backends: [backend] });
    const log = join(await mkdtemp(join(tmpdir(), 'rh-dist-retry-')), 'attempts');
    const t = new ComputeTask({ executable: '/bin/sh', arguments: ['-c', `echo attempt >> ${log}; sleep 2.7; echo finished`], retries: 1 });
    const events: TaskEvent[] = [];
    s.events$.subscribe((e) => e.uid === t.uid && events.push(e));
    await s.submitTasks([t]);
    const victim = await workerRunning('sleep 2.7');
    process.kill(victim, 'SIGKILL');
    const rescuer = await workerRunning('sleep 2.7', victim);
    const result = await t;
    expect(rescuer).not.toBe(victim);
    expect(result.stdout).toBe('finished\n');
    expect([t.state, t.attempts]).toEqual(['DONE', 2]);
    expect((await readFile(log, 'utf8')).trim().split('\n')).toEqual(['attempt', 'attempt']);
    const moves = events.map((e) => `${e.previousState}>${e.state}${e.task.pendingReason ? `:${e.task.pendingReason}` : ''}`);
    expect(moves).toEqual(['NEW>SUBMITTED', 'SUBMITTED>QUEUED', 'QUEUED>RUNNING', 'RUNNING>QUEUED:retry', 'QUEUED>QUEUED', 'QUEUED>RUNNING', 'RUNNING>DONE']);
    // nothing of the lost attempt ends it a second time
    await new Promise((r) => setTimeout(r, 500));
    expect(events.filter((e) => e.state === 'DONE')).toHaveLength(1);
    // a task's own failure is not infrastructure: under the same retries it runs once (submitted now,
    // so no worker dies under it)
    const exits = new ComputeTask({ executable: '/bin/sh', arguments: ['-c', 'exit 3'], retries: 1 });
    const throws = new ComputeTask({
      function: () => {
        throw new RangeError('mine');
      },
      retries: 1,
    });
    await s.submitTasks([exits, throws]);
    await s.waitTasks([exits, throws]);
    expect([exits.state, exits.attempts, exits.exception]).toEqual(['FAILED', 1, expect.any(TaskExecutionError)]);
    expect(exits.exception).toMatchObject({ exitCode: 3 });
    expect([throws.state, throws.attempts, throws.exception]).toEqual(['FAILED', 1, expect.any(RangeError)]);
  }, 90_000);

  it('without retries a worker SIGKILLed mid-task is recovered as before: its job re-runs on another worker, one attempt, DONE once', async () => {
    const backend = await DistributedExecutionBackend.create({ name: 'no-retries' });
    await using s = new Session({ backends: [backend] });
    const log = join(await mkdtemp(join(tmpdir(), 'rh-dist-noretry-')), 'attempts');
    const t = new ComputeTask({ executable: '/bin/sh', arguments: ['-c', `echo attempt >> ${log}; sleep 2.8; echo finished`] });
    const done: TaskEvent[] = [];
    s.events$.subscribe((e) => e.uid === t.uid && e.state === 'DONE' && done.push(e));
    await s.submitTasks([t]);
    const victim = await workerRunning('sleep 2.8');
    process.kill(victim, 'SIGKILL');
    await t;
    expect([t.state, t.attempts]).toEqual(['DONE', 1]);
    expect((await readFile(log, 'utf8')).trim().split('\n')).toEqual(['attempt', 'attempt']);
    await new Promise((r) => setTimeout(r, 500));
    expect(done).toHaveLength(1);
  }, 90_000);

  it('Redis gone under a running task is an infrastructure failure too: retried, then FAILED with a BackendError cause when it cannot be queued again', async () => {
    const redis = await RedisServer.start();
    const backend = await DistributedExecutionBackend.create({ connection: redis.url, cluster: new LocalCluster([{}]), redisTimeoutMs: 3000 });
    const s = new Session({ backends: [backend] });
    try {
      const t = new ComputeTask({ executable: '/bin/sleep', arguments: ['300'], retries: { max: 1, delay: 50 } });
      const events: TaskEvent[] = [];
      s.events$.subscribe((e) => e.uid === t.uid && events.push(e));
      await s.submitTasks([t]);
      while (t.state !== 'RUNNING') await new Promise((r) => setTimeout(r, 20));
      await redis.close();
      await s.waitTasks([t], { timeout: 30_000 });
      const moves = events.map((e) => `${e.previousState}>${e.state}${e.task.pendingReason ? `:${e.task.pendingReason}` : ''}`);
      expect(moves).toEqual(['NEW>SUBMITTED', 'SUBMITTED>QUEUED', 'QUEUED>RUNNING', 'RUNNING>QUEUED:retry', 'QUEUED>QUEUED', 'QUEUED>FAILED']);
      expect([t.state, t.attempts]).toEqual(['FAILED', 1]);
      expect((t.exception as Error & { cause?: unknown }).cause).toBeInstanceOf(BackendError);
      expect((t.exception as Error).message).toMatch(/Redis/);
    } finally {
      await s.close();
      await redis.close();
    }
  }, 90_000);
});
