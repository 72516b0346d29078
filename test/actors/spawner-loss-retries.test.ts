// A spawner (the native helper or the Node spawner process) SIGKILLed with a task's process in
// flight: the task's process group is killed, and the loss is an infrastructure failure: a task with
// `retries` runs again on a fresh spawner and ends DONE once; one without ends FAILED with a
// BackendError cause, as before. On the concurrent backend and on the HPC local launcher.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BackendError, ComputeTask, ConcurrentExecutionBackend, HpcExecutionBackend, Session, TaskExecutionError, type Backend, type TaskEvent } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses, processesWithMark } from '../helpers.js';

const mark = markProcesses();
const dir = mkdtempSync(join(tmpdir(), 'rh-spawner-loss-'));
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await expectNoProcessesLeft(mark);
});

const sleepFor = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = async (cond: () => boolean, ms = 20_000) => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting: ${JSON.stringify(processesWithMark(mark))}`);
    await sleepFor(20);
  }
};
const spawnerProcs = () => processesWithMark(mark).filter((p) => /native-spawner-|spawner\.mjs/.test(p.cmd));
const running = (tag: string) => processesWithMark(mark).filter((p) => p.cmd === `sleep ${tag}`);
const runs = (marker: string) => {
  try {
    return readFileSync(marker, 'utf8').trim().split('\n').filter(Boolean).length;
  } catch {
    return 0;
  }
};

/**
 * Appends a line to `marker` on each run; the first run sleeps (`sleep <tag>`, long enough to be
 * caught by the kill), later runs print "ok" at once.
 */
function flaky(name: string, tag: string, retries?: number) {
  const marker = join(dir, name.replace(/\W+/g, '-'));
  const script = `echo run >> ${marker}; if [ "$(wc -l < ${marker})" -lt 2 ]; then sleep ${tag}; fi; echo ok`;
  return { marker, spec: { executable: '/bin/sh', arguments: ['-c', script], ...(retries === undefined ? {} : { retries: { max: retries, delay: 50 } }) } };
}

const backends = {
  concurrent: (spawner: 'native' | 'node') => ConcurrentExecutionBackend.create({ executor: 'inline', spawner, spawners: 1 }),
  'hpc local launcher': (spawner: 'native' | 'node') => HpcExecutionBackend.create({ launcher: 'local', spawner, nodes: [{ hostname: 'localhost', cpus: 4, gpus: [] }] }),
  'hpc mpi launcher': (spawner: 'native' | 'node') => HpcExecutionBackend.create({ launcher: 'mpi', spawner, nodes: [{ hostname: 'localhost', cpus: 4, gpus: [] }] }),
} satisfies Record<string, (spawner: 'native' | 'node') => Promise<Backend>>;

describe.each(['native', 'node'] as const)('a spawner lost mid-task (%s spawner)', (spawner) => {
  const sessions: Session[] = [];
  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((s) => s.close()));
    await expectNoProcessesLeft(mark);
  });

  it.each(Object.keys(backends) as Array<keyof typeof backends>)(
    '%s: runs again on a fresh spawner under retries (DONE once); fails with a BackendError cause without',
    async (kind) => {
      const s = new Session({ backends: [await backends[kind](spawner)] });
      sessions.push(s);
      const events: TaskEvent[] = [];
      s.events$.subscribe((e) => events.push(e));
      const tag = String(70 + Math.floor(Math.random() * 9000) / 1000);
      const again = flaky(`${kind}-${spawner}-retried`, tag, 1);
      const once = flaky(`${kind}-${spawner}-once`, tag);
      const retried = new ComputeTask(again.spec);
      const plain = new ComputeTask(once.spec);
      const tasks = [retried, plain];
      // a job of two ranks: both are lost with the spawner, the job runs again as a whole
      const job = kind !== 'concurrent' ? flaky(`${kind}-${spawner}-job`, tag, 1) : null;
      const parallel = job
        ? new ComputeTask({
            ...job.spec,
            arguments: ['-c', `echo run >> ${job.marker}; if [ "$(wc -l < ${job.marker})" -lt 3 ]; then sleep ${tag}; fi; echo ok`],
            taskBackendSpecificKwargs: { processTemplates: [[2, {}]] },
          })
        : null;
      if (parallel) tasks.push(parallel);
      await s.submitTasks(tasks);
      await until(() => running(tag).length === tasks.length + (parallel ? 1 : 0));
      // one native helper; the HPC backend's Node spawners are two processes: all of them go
      const victims = spawnerProcs().map((p) => p.pid);
      expect(victims.length).toBeGreaterThan(0);
      for (const pid of victims) process.kill(pid, 'SIGKILL');
      await s.waitTasks(tasks, { timeout: 30_000 });

      expect([retried.state, retried.attempts, retried.stdout]).toEqual(['DONE', 2, 'ok\n']);
      expect(runs(again.marker)).toBe(2);
      expect(events.filter((e) => e.task.uid === retried.uid && e.state === 'DONE')).toHaveLength(1);
      expect(events.filter((e) => e.task.uid === retried.uid).map((e) => `${e.previousState}>${e.state}`)).toContain('RUNNING>QUEUED');

      expect([plain.state, plain.attempts]).toEqual(['FAILED', 1]);
      expect(plain.exception).toBeInstanceOf(TaskExecutionError);
      expect((plain.exception as Error & { cause?: unknown }).cause).toBeInstanceOf(BackendError);
      expect(plain.exception!.message).toMatch(/spawner exited \(SIGKILL\)/);
      expect(runs(once.marker)).toBe(1);

      if (parallel) {
        expect([parallel.state, parallel.attempts, parallel.stdout]).toEqual(['DONE', 2, 'ok\nok\n']);
        expect(runs(job!.marker)).toBe(4);
      }
      // the lost processes went with their process groups; the retry ran on a fresh spawner
      expect(running(tag)).toEqual([]);
      const fresh = spawnerProcs().map((p) => p.pid);
      expect(fresh.length).toBeGreaterThan(0);
      expect(fresh.filter((pid) => victims.includes(pid))).toEqual([]);
    },
    60_000,
  );

  it('a process that exits non-zero on its own is the task failure, not retried by the default policy', async () => {
    const s = new Session({ backends: [await backends.concurrent(spawner)] });
    sessions.push(s);
    const marker = join(dir, `own-${spawner}`);
    const t = new ComputeTask({ executable: '/bin/sh', arguments: ['-c', `echo run >> ${marker}; exit 3`], retries: { max: 2, delay: 10 } });
    await s.submitTasks([t]);
    await s.waitTasks([t]);
    expect([t.state, t.attempts, t.exitCode, runs(marker)]).toEqual(['FAILED', 1, 3, 1]);
  });
});
