// Retries through a real session: a retry is RUNNING → QUEUED in the chart, the task waits the chart's
// delay, then runs again; a worker crash is an infrastructure failure; the default retries only those.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ComputeTask, ConcurrentExecutionBackend, Session, TaskExecutionError, type TaskEvent } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses } from '../helpers.js';

const mark = markProcesses();
const dir = mkdtempSync(join(tmpdir(), 'rhapsody-retries-'));
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await expectNoProcessesLeft(mark);
});

/** Crashes its worker thread the first time (a marker file says it ran), then returns its thread id. */
async function crashOnce(marker: string): Promise<string> {
  const fs = await import('node:fs');
  const { threadId } = await import('node:worker_threads');
  if (!fs.existsSync(marker)) {
    fs.writeFileSync(marker, String(threadId));
    process.exit(1);
  }
  return `${fs.readFileSync(marker, 'utf8')}->${threadId}`;
}

async function threads() {
  const backend = await ConcurrentExecutionBackend.create({ executor: 'threads', maxWorkers: 1 });
  return new Session({ backends: [backend] });
}

describe('retries in a session', () => {
  it('a worker crash under retries runs again on a fresh worker and ends DONE once', async () => {
    await using session = await threads();
    const events: TaskEvent[] = [];
    session.events$.subscribe((e) => events.push(e));
    const task = new ComputeTask({ uid: 'crashy', function: crashOnce, args: [join(dir, 'crashy')], retries: { max: 2, delay: 100 } });
    const [future] = await session.submitTasks([task]);
    const result = await future!;
    const [first, second] = String(result.returnValue).split('->');
    expect(first).not.toBe(second);
    expect([task.state, task.attempts, task.exception]).toEqual(['DONE', 2, null]);
    const moves = events.map((e) => `${e.previousState}>${e.state}${e.task.pendingReason ? `:${e.task.pendingReason}` : ''}`);
    // the end of the delay is a change too: pendingReason 'retry' → null, still QUEUED
    expect(moves).toEqual(['NEW>SUBMITTED', 'SUBMITTED>QUEUED', 'QUEUED>RUNNING', 'RUNNING>QUEUED:retry', 'QUEUED>QUEUED', 'QUEUED>RUNNING', 'RUNNING>DONE']);
    // it waited the chart's delay (a lower bound, not a speed figure)
    const failedAt = events[3]!.timestamp;
    expect(events[4]!.timestamp - failedAt).toBeGreaterThanOrEqual(90);
    expect(events.filter((e) => e.state === 'DONE')).toHaveLength(1);
    expect(session.getStatistics().counts).toMatchObject({ DONE: 1, FAILED: 0, QUEUED: 0, RUNNING: 0 });
  });

  it('without retries a worker crash fails the task as before', async () => {
    await using session = await threads();
    const task = new ComputeTask({ uid: 'crash-once', function: crashOnce, args: [join(dir, 'crash-once')] });
    const [future] = await session.submitTasks([task]);
    await expect(future).rejects.toBeInstanceOf(TaskExecutionError);
    expect([task.state, task.attempts]).toEqual(['FAILED', 1]);
  });

  it("a task failure is retried only under on: 'any'", async () => {
    const backend = await ConcurrentExecutionBackend.create({ executor: 'inline' });
    await using session = new Session({ backends: [backend] });
    const calls = { any: 0, infra: 0 };
    const flaky = (key: 'any' | 'infra') => () => {
      if (++calls[key] === 1) throw new RangeError(`first ${key}`);
      return calls[key];
    };
    const any = new ComputeTask({ uid: 'any', function: flaky('any'), retries: { max: 3, delay: 10, on: 'any' } });
    const infra = new ComputeTask({ uid: 'infra', function: flaky('infra'), retries: 3 });
    await session.waitTasks(await session.submitTasks([any, infra]).then(() => [any, infra]));
    expect([any.state, any.attempts, any.returnValue]).toEqual(['DONE', 2, 2]);
    expect([infra.state, infra.attempts, infra.exception?.message]).toEqual(['FAILED', 1, 'first infra']);
  });

  it('gives up when attempts run out, with the last error', async () => {
    const backend = await ConcurrentExecutionBackend.create({ executor: 'inline' });
    await using session = new Session({ backends: [backend] });
    let n = 0;
    const task = new ComputeTask({
      uid: 'always',
      function: () => {
        throw new Error(`attempt ${++n}`);
      },
      retries: { max: 2, delay: 5, factor: 1, on: 'any' },
    });
    const [f] = await session.submitTasks([task]);
    await expect(f).rejects.toThrow('attempt 3');
    expect([task.state, task.attempts, n]).toEqual(['FAILED', 3, 3]);
  });

  it('a task canceled while it waits its retry delay ends CANCELED and never runs again', async () => {
    const backend = await ConcurrentExecutionBackend.create({ executor: 'inline' });
    const session = new Session({ backends: [backend] });
    let n = 0;
    const task = new ComputeTask({
      uid: 'waits',
      function: () => {
        throw new Error(`attempt ${++n}`);
      },
      retries: { max: 5, delay: 200, on: 'any' },
    });
    const [f] = await session.submitTasks([task]);
    await new Promise((r) => setTimeout(r, 50));
    expect([task.state, task.pendingReason]).toEqual(['QUEUED', 'retry']);
    expect(await task.cancel()).toBe(true);
    await expect(f).rejects.toThrow(/was canceled/);
    await new Promise((r) => setTimeout(r, 300));
    expect([task.state, n]).toEqual(['CANCELED', 1]);
    await session.close();
  });
});
