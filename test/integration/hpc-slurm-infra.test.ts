// Infrastructure failures on the real SLURM cluster (test/engines/slurm-up.sh): a node set DOWN under
// a running step kills the step ("srun: error: Node failure on n2", srun itself exits 0), the
// controller stops answering (the watchdog), the spawner that started the sruns dies. None is the
// task's fault: a task with `retries` runs again and ends DONE once, one without ends FAILED with a
// BackendError cause. A rank that exits non-zero on its own is not retried. The node is put back
// (RESUME) in `finally` if SLURM has not returned it to service by itself.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendError, ComputeTask, HpcExecutionBackend, Session, TaskExecutionError, type TaskEvent } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses, processesWithMark } from '../helpers.js';

const SLURM_DIR = process.env.RHAPSODY_SLURM_DIR ?? '/tmp/rhapsody-slurm';
const NODE = 'n2';
const mark = markProcesses();
const dir = mkdtempSync(join(tmpdir(), 'rh-slurm-infra-'));

beforeAll(() => {
  const conf = `${SLURM_DIR}/etc/slurm.conf`;
  if (!existsSync(conf)) throw new Error(`no SLURM cluster: ${conf} is missing (npm test starts it with test/engines/slurm-up.sh)`);
  process.env.SLURM_CONF = conf;
  execFileSync('sinfo', ['-h'], { stdio: 'pipe' }); // throws when the controller is not answering
});
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await expectNoProcessesLeft(mark, 10_000);
});

const sleepFor = (ms: number) => new Promise((r) => setTimeout(r, ms));
const waitFor = async (cond: () => boolean, what: string, ms = 30_000) => {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await sleepFor(100);
  }
};
const runs = (marker: string) => (existsSync(marker) ? readFileSync(marker, 'utf8').trim().split('\n').filter(Boolean).length : 0);
/** the names of the jobs on a node */
const jobsOn = (node: string) => execFileSync('squeue', ['-h', '-w', node, '-o', '%j'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
const nodeState = (node: string) => execFileSync('sinfo', ['-h', '-n', node, '-o', '%T'], { encoding: 'utf8' }).trim();
/** Puts the node back if it is still DOWN or drained (ReturnToService=2 usually does it at once). */
function restore(node: string): void {
  if (/down|drain|fail/i.test(nodeState(node))) execFileSync('scontrol', ['update', `nodename=${node}`, 'state=resume'], { stdio: 'pipe' });
}

/** Appends to `marker` on each run; the first run sleeps long enough to be caught by the node going down. */
function onNode(name: string, retries?: number, delay = 500) {
  const marker = join(dir, name);
  const script = `echo run >> ${marker}; if [ "$(wc -l < ${marker})" -lt 2 ]; then sleep 84; fi; echo ok`;
  const task = new ComputeTask({
    executable: '/bin/sh',
    arguments: ['-c', script],
    taskBackendSpecificKwargs: { processTemplate: { policy: { hostName: NODE } } },
    ...(retries === undefined ? {} : { retries: { max: retries, delay } }),
  });
  return { marker, task };
}

describe.sequential('HPC on SLURM: infrastructure failures', () => {
  it('a node set DOWN under running steps: retried under retries (DONE once), else FAILED with a BackendError cause', async () => {
    const hpc = await HpcExecutionBackend.create({ launcher: 'slurm' });
    await using s = new Session({ backends: [hpc] });
    const events: TaskEvent[] = [];
    s.events$.subscribe((e) => events.push(e));
    const again = onNode('retried', 1);
    const once = onNode('once');
    const tasks = [again.task, once.task];
    await s.submitTasks(tasks);
    await waitFor(() => runs(again.marker) === 1 && runs(once.marker) === 1, 'both steps to run');
    // only ours on the node (the cluster is shared): a step of someone else would be killed too
    await waitFor(() => jobsOn(NODE).every((j) => j.startsWith(`rhapsody-${process.pid}-`)), `${NODE} to run only this test's steps`, 60_000);
    try {
      execFileSync('scontrol', ['update', `nodename=${NODE}`, 'state=down', 'reason=rhapsody-infra-test'], { stdio: 'pipe' });
      await waitFor(() => once.task.state === 'FAILED', 'the step to be killed');
    } finally {
      await sleepFor(500);
      restore(NODE);
    }
    await s.waitTasks(tasks, { timeout: 60_000 });

    expect([once.task.state, once.task.attempts]).toEqual(['FAILED', 1]);
    expect(once.task.exception).toBeInstanceOf(TaskExecutionError);
    expect((once.task.exception as Error & { cause?: unknown }).cause).toBeInstanceOf(BackendError);
    expect(once.task.exception!.message).toMatch(new RegExp(`Node failure on ${NODE}`));

    expect([again.task.state, again.task.attempts, again.task.stdout]).toEqual(['DONE', 2, 'ok\n']);
    expect(runs(again.marker)).toBe(2);
    expect(events.filter((e) => e.task.uid === again.task.uid && e.state === 'DONE')).toHaveLength(1);
  }, 120_000);

  it('the controller stops answering mid-run (the watchdog): the steps are stopped, the task runs again under retries', async () => {
    const hpc = await HpcExecutionBackend.create({ launcher: 'slurm' });
    await using s = new Session({ backends: [hpc] });
    const again = onNode('ctld-retried', 1, 1500);
    const once = onNode('ctld-once');
    const tasks = [again.task, once.task];
    await s.submitTasks(tasks);
    await waitFor(() => runs(again.marker) === 1 && runs(once.marker) === 1, 'both steps to run');
    // without stopping the shared controller: this process's `scontrol ping` (the watchdog's) goes
    // to a port nobody listens on, so for this backend the controller stops answering; the running
    // sruns keep talking to the real one and cancel their steps when stopped
    const good = process.env.SLURM_CONF!;
    const badDir = mkdtempSync(join(tmpdir(), 'rh-slurm-badconf-'));
    const conf = readFileSync(good, 'utf8').replace(/^SlurmctldPort=.*$/m, 'SlurmctldPort=1');
    writeFileSync(join(badDir, 'slurm.conf'), conf);
    copyFileSync(join(dirname(good), 'gres.conf'), join(badDir, 'gres.conf'));
    process.env.SLURM_CONF = join(badDir, 'slurm.conf');
    try {
      await waitFor(() => once.task.state === 'FAILED', 'the watchdog to give up');
    } finally {
      process.env.SLURM_CONF = good;
      rmSync(badDir, { recursive: true, force: true });
    }
    await s.waitTasks(tasks, { timeout: 60_000 });
    expect([once.task.state, once.task.attempts]).toEqual(['FAILED', 1]);
    expect((once.task.exception as Error & { cause?: unknown }).cause).toBeInstanceOf(BackendError);
    expect(once.task.exception!.message).toMatch(/controller stopped answering/);
    expect([again.task.state, again.task.attempts, again.task.stdout]).toEqual(['DONE', 2, 'ok\n']);
    expect(runs(again.marker)).toBe(2);
  }, 120_000);

  it('the spawner SIGKILLed with sruns in flight: their jobs end with them; retried under retries, no step left', async () => {
    const hpc = await HpcExecutionBackend.create({ launcher: 'slurm', spawner: 'native' });
    await using s = new Session({ backends: [hpc] });
    const again = onNode('spawner-retried', 1);
    const once = onNode('spawner-once');
    const tasks = [again.task, once.task];
    await s.submitTasks(tasks);
    await waitFor(() => runs(again.marker) === 1 && runs(once.marker) === 1, 'both steps to run');
    const spawners = processesWithMark(mark).filter((p) => /native-spawner-/.test(p.cmd));
    expect(spawners).toHaveLength(1);
    process.kill(spawners[0]!.pid, 'SIGKILL');
    await s.waitTasks(tasks, { timeout: 60_000 });
    expect([once.task.state, once.task.attempts]).toEqual(['FAILED', 1]);
    expect((once.task.exception as Error & { cause?: unknown }).cause).toBeInstanceOf(BackendError);
    expect(once.task.exception!.message).toMatch(/spawner exited \(SIGKILL\)/);
    expect([again.task.state, again.task.attempts, again.task.stdout]).toEqual(['DONE', 2, 'ok\n']);
    expect(runs(again.marker)).toBe(2);
    // the killed sruns' jobs ended with them: nothing of this process is left in SLURM
    await waitFor(() => !execFileSync('squeue', ['-h', '-o', '%j'], { encoding: 'utf8' }).includes(`rhapsody-${process.pid}-`), 'the jobs to end');
  }, 120_000);

  it('a rank that exits non-zero on its own is the task failure: not retried by the default policy', async () => {
    const hpc = await HpcExecutionBackend.create({ launcher: 'slurm' });
    await using s = new Session({ backends: [hpc] });
    const marker = join(dir, 'own');
    const t = new ComputeTask({
      executable: '/bin/sh',
      arguments: ['-c', `echo run >> ${marker}; exit 9`],
      taskBackendSpecificKwargs: { processTemplates: [[2, {}]] },
      retries: { max: 2, delay: 10 },
    });
    await s.submitTasks([t]);
    await s.waitTasks([t], { timeout: 60_000 });
    expect([t.state, t.attempts, t.exitCode]).toEqual(['FAILED', 1, 9]);
    expect((t.exception as Error & { cause?: unknown }).cause).toBeUndefined();
    expect(runs(marker)).toBeLessThanOrEqual(2);
  }, 90_000);
});
