// Against a real redis-server and real worker processes (rhapsody worker), started here.
import { mkdtemp, readFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ComputeTask, DistributedExecutionBackend, LocalCluster, ResourceError, Session, TaskCanceledError, TaskExecutionError, type TaskEvent } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses, processesWithMark } from '../helpers.js';

const mark = markProcesses();
afterAll(() => expectNoProcessesLeft(mark, 15_000));

/** The worker process that is an ancestor of `pid`. */
function workerOf(pid: number): number | null {
  for (let p = pid; p > 1; ) {
    const cmd = readFileSync(`/proc/${p}/cmdline`, 'latin1').replace(/\0/g, ' ');
    if (/cli\.(ts|js) worker /.test(cmd)) return p;
    p = Number(readFileSync(`/proc/${p}/stat`, 'latin1').split(') ')[1]!.split(' ')[1]);
  }
  return null;
}

describe('DistributedExecutionBackend', () => {
  it('runs sync and async functions and executables remotely, with the same results and errors as locally', async () => {
    const backend = await DistributedExecutionBackend.create();
    await using s = new Session({ backends: [backend] });
    expect((await backend.liveWorkers()).length).toBe(2);
    const dir = await mkdtemp(join(tmpdir(), 'rh-dist-'));
    const tasks = [
      new ComputeTask({ function: (n: number) => n * n, args: [7] }),
      new ComputeTask({
        function: async (n: number) => {
          await new Promise((r) => setTimeout(r, 10));
          return n * 2;
        },
        args: [21],
      }),
      new ComputeTask({ executable: '/bin/sh', arguments: ['-c', 'echo "$PWD $GREETING"'], taskBackendSpecificKwargs: { cwd: dir, env: { GREETING: 'hi' } } }),
      new ComputeTask({ executable: 'echo shell $((1 + 2))', taskBackendSpecificKwargs: { shell: true } }),
      new ComputeTask({ executable: '/bin/sh', arguments: ['-c', 'echo bad >&2; exit 4'] }),
      new ComputeTask({
        function: () => {
          throw new RangeError('far away');
        },
      }),
    ];
    await s.submitTasks(tasks);
    await s.waitTasks(tasks, { timeout: 30_000 });
    expect(tasks.map((t) => t.state)).toEqual(['DONE', 'DONE', 'DONE', 'DONE', 'FAILED', 'FAILED']);
    expect(tasks[0]!.returnValue).toBe(49);
    expect(tasks[1]!.returnValue).toBe(42);
    expect(tasks[2]!.stdout).toBe(`${dir} hi\n`);
    expect(tasks[3]!.stdout).toBe('shell 3\n');
    expect(tasks[4]!.exception).toBeInstanceOf(TaskExecutionError);
    expect(tasks[4]!.exception).toMatchObject({ exitCode: 4, stderr: 'bad\n' });
    expect(tasks[5]!.exception).toBeInstanceOf(RangeError);
    expect(tasks[5]!.exception!.message).toBe('far away');
  }, 60_000);

  it('routes by resources: only workers that offer enough run a task, never more than they offer at once', async () => {
    const cluster = new LocalCluster([{ resources: 'GPU=1', concurrency: 4 }, { resources: 'GPU=1', concurrency: 4 }, { concurrency: 4 }]);
    const backend = await DistributedExecutionBackend.create({ cluster });
    await using s = new Session({ backends: [backend] });
    while ((await backend.liveWorkers()).length < 3) await new Promise((r) => setTimeout(r, 100));
    const gpuTasks = Array.from(
      { length: 6 },
      () => new ComputeTask({ executable: '/bin/sh', arguments: ['-c', 'echo $(date +%s%N); sleep 0.3; echo $(date +%s%N)'], taskBackendSpecificKwargs: { resources: { GPU: 1 } } }),
    );
    const impossible = new ComputeTask({ executable: '/bin/true', taskBackendSpecificKwargs: { resources: { GPU: 2 } } });
    await s.submitTasks([...gpuTasks, impossible]);
    await s.waitTasks([...gpuTasks, impossible], { timeout: 60_000 });
    expect(gpuTasks.every((t) => t.state === 'DONE')).toBe(true);
    await expect(impossible).rejects.toBeInstanceOf(ResourceError);
    // at most 2 GPU tasks at once (2 workers × GPU=1)
    const edges = gpuTasks
      .flatMap((t) => {
        const [a, b] = t.stdout!.trim().split('\n').map(Number);
        return [
          [a!, 1],
          [b!, -1],
        ] as const;
      })
      .sort((p, q) => p[0] - q[0] || p[1] - q[1]);
    let alive = 0;
    let most = 0;
    for (const [, d] of edges) most = Math.max(most, (alive += d));
    expect(most).toBeLessThanOrEqual(2);
  }, 90_000);

  it('cancel removes a waiting job and stops a running one', async () => {
    const backend = await DistributedExecutionBackend.create({ resources: { nWorkers: 1, concurrency: 1 } });
    await using s = new Session({ backends: [backend] });
    const running = new ComputeTask({ executable: '/bin/sleep', arguments: ['101'] });
    const waiting = new ComputeTask({ executable: '/bin/sleep', arguments: ['102'] });
    await s.submitTasks([running, waiting]);
    while (running.state !== 'RUNNING') await new Promise((r) => setTimeout(r, 50));
    expect(await waiting.cancel()).toBe(true);
    expect(await running.cancel()).toBe(true);
    await expect(waiting).rejects.toBeInstanceOf(TaskCanceledError);
    await expect(running).rejects.toBeInstanceOf(TaskCanceledError);
    expect(processesWithMark(mark).filter((p) => /sleep 10[12]/.test(p.cmd))).toEqual([]);
  }, 60_000);

  it('a worker killed mid-task: the job re-runs on another worker and completes once', async () => {
    const backend = await DistributedExecutionBackend.create();
    await using s = new Session({ backends: [backend] });
    const dir = await mkdtemp(join(tmpdir(), 'rh-dist-kill-'));
    const log = join(dir, 'attempts');
    const t = new ComputeTask({ executable: '/bin/sh', arguments: ['-c', `echo attempt >> ${log}; sleep 2.5; echo finished`] });
    const done: TaskEvent[] = [];
    s.events$.subscribe((e) => e.uid === t.uid && e.state === 'DONE' && done.push(e));
    await s.submitTasks([t]);
    let victim: number | null = null;
    while (victim === null) {
      const sleeper = processesWithMark(mark).find((p) => p.cmd.includes('sleep 2.5'));
      if (sleeper) victim = workerOf(sleeper.pid);
      else await new Promise((r) => setTimeout(r, 50));
    }
    process.kill(victim, 'SIGKILL');
    const result = await t;
    expect(result.stdout).toBe('finished\n');
    expect((await readFile(log, 'utf8')).trim().split('\n')).toEqual(['attempt', 'attempt']);
    await new Promise((r) => setTimeout(r, 500));
    expect(done).toHaveLength(1);
  }, 90_000);

  it('large batches travel several tasks per job: every result and error comes back, once', async () => {
    const backend = await DistributedExecutionBackend.create({ name: 'chunks' });
    await using s = new Session({ backends: [backend] });
    const tasks = Array.from(
      { length: 400 },
      (_, i) =>
        new ComputeTask({
          function: (x: number) => {
            if (x % 50 === 0) throw new RangeError(`bad ${x}`);
            return x * 2;
          },
          args: [i],
        }),
    );
    await s.submitTasks(tasks);
    await s.waitTasks(tasks, { timeout: 60_000 });
    tasks.forEach((t, i) => {
      if (i % 50 === 0) {
        expect(t.state).toBe('FAILED');
        expect(t.exception).toBeInstanceOf(RangeError);
        expect((t.exception as Error).message).toBe(`bad ${i}`);
      } else expect(t.returnValue).toBe(i * 2);
    });
    // 400 tasks over 2 workers went as a few dozen jobs, not 400
    const { Queue } = await import('bullmq');
    const q = new Queue('rhapsody-chunks.any', { connection: { url: backend.redisConnection as string } });
    const jobs = await q.getJobCountByTypes('completed', 'failed');
    await q.close();
    expect(jobs).toBeGreaterThan(1);
    expect(jobs).toBeLessThanOrEqual(16);
  }, 90_000);

  it('cancel takes a task out of a job that has not started; the rest of the job runs', async () => {
    const backend = await DistributedExecutionBackend.create({ name: 'chunk-cancel', resources: { nWorkers: 1, concurrency: 1 } });
    await using s = new Session({ backends: [backend] });
    const dir = await mkdtemp(join(tmpdir(), 'rh-dist-chunk-'));
    const log = join(dir, 'ran');
    const tasks = Array.from({ length: 40 }, (_, i) => new ComputeTask({ executable: '/bin/sh', arguments: ['-c', `echo ${i} >> ${log}; sleep 0.05`] }));
    await s.submitTasks(tasks);
    while (tasks[0]!.state !== 'RUNNING') await new Promise((r) => setTimeout(r, 20));
    const victim = tasks[35]!; // in the last job: still waiting
    expect(await victim.cancel()).toBe(true);
    await s.waitTasks(tasks, { timeout: 60_000 });
    expect(victim.state).toBe('CANCELED');
    expect(tasks.filter((t) => t !== victim).every((t) => t.state === 'DONE')).toBe(true);
    const ran = (await readFile(log, 'utf8'))
      .trim()
      .split('\n')
      .map(Number)
      .sort((a, b) => a - b);
    expect(ran).toEqual(Array.from({ length: 40 }, (_, i) => i).filter((i) => i !== 35));
  }, 90_000);
});
