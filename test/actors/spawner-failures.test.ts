import { chmod, mkdtemp, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { BackendError, ComputeTask, ConcurrentExecutionBackend, Session, TaskExecutionError, type ConcurrentExecutionBackendOptions } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses, processesWithMark } from '../helpers.js';

const mark = markProcesses();
afterAll(() => expectNoProcessesLeft(mark));

const sleepFor = (ms: number) => new Promise((r) => setTimeout(r, ms));
const until = async (cond: () => boolean) => {
  while (!cond()) await sleepFor(20);
};
/** the spawner processes of this test process (the helper binary, or the Node spawner script) */
const spawnerProcs = () => processesWithMark(mark).filter((p) => /native-spawner-|spawner\.mjs/.test(p.cmd));
const sleepers = (cmd: string) => processesWithMark(mark).filter((p) => p.cmd.startsWith(cmd));
/** killed processes take a moment to go */
const gone = async (re: RegExp) => {
  const t0 = Date.now();
  while (processesWithMark(mark).some((p) => re.test(p.cmd)) && Date.now() - t0 < 3000) await sleepFor(50);
  return processesWithMark(mark).filter((p) => re.test(p.cmd));
};

describe.each(['native', 'node'] as const)('spawner failures (%s spawner)', (spawner) => {
  const sessions: Session[] = [];
  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((s) => s.close()));
    await expectNoProcessesLeft(mark);
  });
  async function newSession(options: ConcurrentExecutionBackendOptions = {}, workDir?: string) {
    const backend = await ConcurrentExecutionBackend.create({ executor: 'inline', spawner, spawners: 1, ...options });
    const s = new Session({ backends: [backend], workDir });
    sessions.push(s);
    return s;
  }

  it('the spawner SIGKILLed with 50 in flight: all settle, no process is left, the next run on a fresh spawner', async () => {
    const s = await newSession({ maxProcesses: 50 });
    const tag = `${spawner}-inflight-${process.pid}`;
    const tasks = Array.from({ length: 50 }, () => new ComputeTask({ executable: '/bin/sh', arguments: ['-c', `sleep 30 & sleep 31; : ${tag}`] }));
    const futures = await s.submitTasks(tasks);
    await until(() => sleepers('sleep 31').length === 50);
    const [victim, ...others] = spawnerProcs();
    expect(others).toEqual([]);
    // requests it has not read yet (stopped) have not started: they go to the fresh spawner
    process.kill(victim!.pid, 'SIGSTOP');
    const later = Array.from({ length: 5 }, (_, i) => new ComputeTask({ executable: '/bin/echo', arguments: [`later ${i}`] }));
    const laterFutures = await s.submitTasks(later);
    await sleepFor(100);
    process.kill(victim!.pid, 'SIGKILL');
    const settled = await Promise.allSettled(futures);
    expect(settled.every((r) => r.status === 'rejected')).toBe(true);
    for (const t of tasks) {
      expect(t.state).toBe('FAILED');
      expect(t.exception).toBeInstanceOf(TaskExecutionError);
      expect((t.exception as Error & { cause?: unknown }).cause).toBeInstanceOf(BackendError);
    }
    // their process groups (the sh, both sleeps) were killed
    expect(await gone(/sleep 3[01]/)).toEqual([]);
    await Promise.all(laterFutures);
    expect(later.map((t) => t.stdout)).toEqual(later.map((_, i) => `later ${i}\n`));
    const again = Array.from({ length: 5 }, (_, i) => new ComputeTask({ executable: '/bin/echo', arguments: [`back ${i}`] }));
    await s.submitTasks(again);
    await s.waitTasks(again);
    expect(again.map((t) => t.stdout)).toEqual(again.map((_, i) => `back ${i}\n`));
    const fresh = spawnerProcs();
    expect(fresh).toHaveLength(1);
    expect(fresh[0]!.pid).not.toBe(victim!.pid);
  });

  it('a child that ignores SIGTERM is SIGKILLed after the grace period on cancel', async () => {
    const s = await newSession();
    const t = new ComputeTask({ executable: '/bin/sh', arguments: ['-c', "trap '' TERM; sleep 65 & sleep 66; wait"] });
    await s.submitTasks([t]);
    await until(() => sleepers('sleep 66').length === 1);
    const canceled = t.cancel();
    // SIGTERM is ignored: still there just after the cancel
    await sleepFor(200);
    expect(sleepers('sleep 66')).toHaveLength(1);
    expect(await canceled).toBe(true);
    expect(t.state).toBe('CANCELED');
    expect(await gone(/sleep 6[56]/)).toEqual([]);
  });

  it('background processes of a finished task are killed with its process group, unless kept', async () => {
    const s = await newSession();
    const ended = new ComputeTask({ executable: '/bin/sh', arguments: ['-c', 'sleep 67 >/dev/null 2>&1 & echo started'] });
    const kept = new ComputeTask({ executable: '/bin/sh', arguments: ['-c', 'sleep 68 >/dev/null 2>&1 & echo started'], taskBackendSpecificKwargs: { keepProcessGroup: true } });
    try {
      await s.submitTasks([ended, kept]);
      await s.waitTasks([ended, kept]);
      expect([ended.state, kept.state, ended.stdout, kept.stdout]).toEqual(['DONE', 'DONE', 'started\n', 'started\n']);
      expect(await gone(/sleep 67/)).toEqual([]);
      expect(sleepers('sleep 68')).toHaveLength(1);
    } finally {
      for (const p of sleepers('sleep 68')) process.kill(p.pid, 'SIGKILL');
    }
  });

  it('100 MB on stdout: memory stays bounded, the rest is spilled under the session directory, others are unharmed', async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'rh-spill-'));
    const cap = 1 << 20;
    const s = await newSession({ maxOutputBytes: cap }, workDir);
    const big = new ComputeTask({ uid: 'big', executable: 'head', arguments: ['-c', String(100 * 2 ** 20), '/dev/zero'] });
    const small = Array.from({ length: 10 }, (_, i) => new ComputeTask({ executable: '/bin/echo', arguments: [String(i)] }));
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
    await s.submitTasks([big, ...small]);
    await s.waitTasks([big, ...small]);
    clearInterval(sample);
    expect(small.map((t) => t.stdout)).toEqual(small.map((_, i) => `${i}\n`));
    expect(big.state).toBe('DONE');
    const file = join(workDir, s.uid, 'big.stdout');
    expect(big.stdout!.length).toBeLessThan(cap + 300);
    expect(big.stdout!.slice(cap)).toBe(`\n[rhapsody: stdout was ${100 * 2 ** 20} bytes, over the ${cap}-byte in-memory cap; all of it is in ${file}]\n`);
    expect((await stat(file)).size).toBe(100 * 2 ** 20);
    // the host held a cap's worth, not the stream (100 MB would be ~100–300 MB here)
    expect(peak - rss0).toBeLessThan(40 * 2 ** 20);
  });

  it('past the cap without a session directory to spill into, the rest is dropped and said so', async () => {
    // a workDir that is a file: the session directory cannot be made
    const file = join(await mkdtemp(join(tmpdir(), 'rh-nodir-')), 'a-file');
    await writeFile(file, '');
    const s = await newSession({ maxOutputBytes: 1000 }, file);
    const t = new ComputeTask({ executable: 'head', arguments: ['-c', '5000', '/dev/zero'] });
    await s.submitTasks([t]);
    await t;
    expect(t.stdout!.slice(1000)).toBe('\n[rhapsody: stdout was 5000 bytes, over the 1000-byte in-memory cap; the rest was dropped]\n');
  });

  it('missing executable, non-executable file and bad cwd: FAILED with the OS error as cause', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rh-eacces-'));
    const noexec = join(dir, 'script.sh');
    await writeFile(noexec, '#!/bin/sh\necho hi\n');
    await chmod(noexec, 0o644);
    const s = await newSession();
    const missing = new ComputeTask({ executable: '/no/such/binary' });
    const onPath = new ComputeTask({ executable: 'no-such-command-rhapsody' });
    const eacces = new ComputeTask({ executable: noexec });
    const badCwd = new ComputeTask({ executable: '/bin/pwd', taskBackendSpecificKwargs: { cwd: join(dir, 'nope') } });
    const tasks = [missing, onPath, eacces, badCwd];
    await s.submitTasks(tasks);
    await s.waitTasks(tasks);
    expect(tasks.map((t) => t.state)).toEqual(['FAILED', 'FAILED', 'FAILED', 'FAILED']);
    const causes = tasks.map((t) => {
      expect(t.exception).toBeInstanceOf(TaskExecutionError);
      expect((t.exception as TaskExecutionError).taskUid).toBe(t.uid);
      const c = (t.exception as Error & { cause?: Error & { code?: string } }).cause;
      expect(c).toBeInstanceOf(Error);
      return c!.code;
    });
    expect(causes).toEqual(['ENOENT', 'ENOENT', 'EACCES', 'ENOENT']);
    expect(badCwd.exception!.message).toContain(join(dir, 'nope'));
  });

  it('the environment is read at submit: process.env changes after start reach later executables', async () => {
    const s = await newSession();
    const read = () => new ComputeTask({ executable: '/bin/sh', arguments: ['-c', 'echo "$' + '{RH_LATE_VAR:-unset}:$RH_TASK_VAR"'], taskBackendSpecificKwargs: { env: { RH_TASK_VAR: 't' } } });
    const before = read();
    await s.submitTasks([before]);
    await before;
    process.env.RH_LATE_VAR = 'set-later';
    try {
      const after = read();
      await s.submitTasks([after]);
      await after;
      expect([before.stdout, after.stdout]).toEqual(['unset:t\n', 'set-later:t\n']);
    } finally {
      delete process.env.RH_LATE_VAR;
    }
  });
});
