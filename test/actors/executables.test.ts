import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ComputeTask, ConcurrentExecutionBackend, Session, TaskExecutionError } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses, processesWithMark, processHandles } from '../helpers.js';

const mark = markProcesses();
afterAll(() => expectNoProcessesLeft(mark));

// every executable test runs against both spawners
describe.each(['native', 'node'] as const)('executables (%s spawner)', (spawner) => {
  async function newSession(workDir?: string) {
    const backend = await ConcurrentExecutionBackend.create({ executor: 'inline', spawner });
    expect(backend.spawner).toBe(spawner);
    return new Session({ workDir, backends: [backend] });
  }

  it('shell, cwd and env (merged over the parent environment)', async () => {
    await using s = await newSession();
    const dir = await mkdtemp(join(tmpdir(), 'rh-cwd-'));
    const tasks = [
      new ComputeTask({ executable: 'echo $((6 * 7)) | tr -d "\\n"', taskBackendSpecificKwargs: { shell: true } }),
      new ComputeTask({ executable: '/bin/pwd', taskBackendSpecificKwargs: { cwd: dir } }),
      new ComputeTask({ executable: '/bin/sh', arguments: ['-c', 'echo "$GREETING:$RHAPSODY_TEST_MARK"'], taskBackendSpecificKwargs: { env: { GREETING: 'hi' } } }),
    ];
    await s.submitTasks(tasks);
    await s.waitTasks(tasks);
    expect(tasks.map((t) => t.state)).toEqual(['DONE', 'DONE', 'DONE']);
    expect(tasks[0]!.stdout).toBe('42');
    expect(tasks[1]!.stdout).toBe(`${dir}\n`);
    expect(tasks[2]!.stdout).toBe(`hi:${mark}\n`);
    expect(tasks[2]!.exitCode).toBe(0);
  });

  it('non-zero exit, a signal and a missing binary fail with TaskExecutionError', async () => {
    await using s = await newSession();
    const exit = new ComputeTask({ executable: '/bin/sh', arguments: ['-c', 'echo out; echo bad >&2; exit 7'] });
    const signal = new ComputeTask({ executable: '/bin/sh', arguments: ['-c', 'kill -9 $$'] });
    const missing = new ComputeTask({ executable: '/no/such/binary' });
    const [f1, f2, f3] = await s.submitTasks([exit, signal, missing]);
    const e1 = await f1!.catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(TaskExecutionError);
    expect(e1).toMatchObject({ exitCode: 7, stderr: 'bad\n', taskUid: exit.uid });
    expect(exit.stdout).toBe('out\n');
    const e2 = await f2!.catch((e: unknown) => e);
    expect(e2).toMatchObject({ signal: 'SIGKILL' });
    const e3 = await f3!.catch((e: unknown) => e);
    expect((e3 as Error).message).toMatch(/cannot run \/no\/such\/binary.*ENOENT/);
    expect((e3 as Error & { cause?: { code?: string } }).cause?.code).toBe('ENOENT');
  });

  it('captureStdio writes <uid>.stdout/.stderr under the session directory', async () => {
    const workDir = await mkdtemp(join(tmpdir(), 'rh-work-'));
    await using s = new Session({ workDir, uid: 'cap-session', backends: [await ConcurrentExecutionBackend.create({ executor: 'inline', spawner })] });
    const t = new ComputeTask({ uid: 'cap', executable: '/bin/sh', arguments: ['-c', 'echo to-out; echo to-err >&2'], captureStdio: true });
    await s.submitTasks([t]);
    await t;
    expect(t.stdout).toBe(join(workDir, 'cap-session', 'cap.stdout'));
    expect(await readFile(t.stdout!, 'utf8')).toBe('to-out\n');
    expect(await readFile(t.stderr!, 'utf8')).toBe('to-err\n');
  });

  it('a timeout kills the whole process group, grandchildren included', async () => {
    await using s = await newSession();
    const t = new ComputeTask({
      executable: '/bin/sh',
      arguments: ['-c', 'sleep 61 & sleep 62 & wait'],
      taskBackendSpecificKwargs: { timeout: 300 },
    });
    await s.submitTasks([t]);
    await expect(t).rejects.toThrow(/timed out after 300 ms/);
    expect(t.state).toBe('FAILED');
    await new Promise((r) => setTimeout(r, 100));
    expect(processesWithMark(mark).filter((p) => /sleep 6[12]/.test(p.cmd))).toEqual([]);
  });

  it('cancel kills a running executable and its children', async () => {
    await using s = await newSession();
    const t = new ComputeTask({ executable: '/bin/sh', arguments: ['-c', 'sleep 63 & sleep 64; wait'] });
    await s.submitTasks([t]);
    while (!processesWithMark(mark).some((p) => p.cmd.includes('sleep 64'))) await new Promise((r) => setTimeout(r, 20));
    expect(await t.cancel()).toBe(true);
    expect(t.state).toBe('CANCELED');
    expect(processesWithMark(mark).filter((p) => /sleep 6[34]/.test(p.cmd))).toEqual([]);
  });

  it('leaves no process or handle behind after close', async () => {
    const s = await newSession();
    const tasks = Array.from({ length: 50 }, (_, i) => new ComputeTask({ executable: '/bin/echo', arguments: [String(i)] }));
    await s.submitTasks(tasks);
    await s.waitTasks(tasks);
    expect(tasks.map((t) => t.stdout)).toEqual(tasks.map((_, i) => `${i}\n`));
    await s.close();
    await expectNoProcessesLeft(mark);
    expect(processHandles()).toEqual([]);
  });
});
