// DaskExecutionBackend's cluster injection and its failure behaviour, on real dask.distributed
// clusters that each test makes (and must leave nothing of).
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { BackendError, ComputeTask, DaskExecutionBackend, Session, TaskExecutionError } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses } from '../helpers.js';

const mark = markProcesses();
afterAll(() => expectNoProcessesLeft(mark, 20_000), 30_000);
const fixtures = fileURLToPath(new URL('../fixtures', import.meta.url));

const waitFor = async (cond: () => boolean, ms = 20_000) => {
  const until = Date.now() + ms;
  while (!cond() && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  return cond();
};
const alive = (pid: number | null) => pid !== null && existsSync(`/proc/${pid}`) && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'latin1'));

describe('DaskExecutionBackend cluster injection', () => {
  it('makes a cluster from a Python expression and scales it; closes it with every process on shutdown', async () => {
    const dask = await DaskExecutionBackend.create({ cluster: 'distributed.LocalCluster(n_workers=1, threads_per_worker=1, dashboard_address=None, host="127.0.0.1")', scale: 2 });
    expect(dask.clientState.context).toMatchObject({ mode: 'cluster', cluster: 'LocalCluster' });
    expect(dask.clientState.context.workers).toHaveLength(2);
    {
      await using s = new Session({ backends: [dask] });
      const t = new ComputeTask({ function: { python: 'operator:mul' }, args: [6, 7] });
      await s.submitTasks([t]);
      expect(await t).toMatchObject({ state: 'DONE', returnValue: 42 });
    }
    expect(dask.state).toBe('SHUTDOWN');
    await expectNoProcessesLeft(mark, 15_000);
  }, 90_000);

  it("makes a cluster from 'module:factory' (found through pythonPath)", async () => {
    const dask = await DaskExecutionBackend.create({ cluster: 'dask_fixtures:make_cluster', pythonPath: [fixtures] });
    await using s = new Session({ backends: [dask] });
    const t = new ComputeTask({ function: { python: 'dask_fixtures:add' }, args: [1, 2] });
    await s.submitTasks([t]);
    expect(await t).toMatchObject({ state: 'DONE', returnValue: 3 });
  }, 90_000);

  it("a cluster expression that fails is a BackendError with Python's message, and leaves no process", async () => {
    const err = await DaskExecutionBackend.create({ cluster: 'no_such_pkg_xyz.Cluster()' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect((err as Error).message).toMatch(/NameError: name 'no_such_pkg_xyz' is not defined/);
    await expectNoProcessesLeft(mark, 10_000);
  }, 60_000);
});

describe('DaskExecutionBackend failure behaviour', () => {
  it('a Dask worker killed mid-task: the task runs again elsewhere or fails with a typed error, never lost', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rh-dask-kill-'));
    const dask = await DaskExecutionBackend.create({ resources: { nWorkers: 2 } });
    await using s = new Session({ backends: [dask] });
    // the command's parent is the worker process running it: note it, then kill that worker
    const t = new ComputeTask({ executable: '/bin/sh', arguments: ['-c', `echo $PPID >> ${dir}/workers; sleep 2; echo finished`] });
    await s.submitTasks([t]);
    const file = join(dir, 'workers');
    expect(await waitFor(() => existsSync(file) && readFileSync(file, 'utf8').trim() !== '')).toBe(true);
    process.kill(Number(readFileSync(file, 'utf8').trim().split('\n')[0]), 'SIGKILL');
    await s.waitTasks([t], { timeout: 60_000 });
    if (t.state === 'DONE') {
      expect(t.stdout).toBe('finished\n');
      expect(readFileSync(file, 'utf8').trim().split('\n').length).toBe(2); // it ran again
    } else {
      expect(t.state).toBe('FAILED');
      expect(t.exception).toBeInstanceOf(TaskExecutionError);
    }
  }, 90_000);

  it('the Python client process dies: in-flight tasks FAIL with a BackendError, its cluster goes with it, and a new create() works', async () => {
    const dask = await DaskExecutionBackend.create({ resources: { nWorkers: 1 } });
    const s = new Session({ backends: [dask] });
    const tasks = [new ComputeTask({ executable: '/bin/sleep', arguments: ['30'] }), new ComputeTask({ function: { python: 'time:sleep' }, args: [30] })];
    await s.submitTasks(tasks);
    await new Promise((r) => setTimeout(r, 1000));
    const pid = dask._pids.client!;
    process.kill(pid, 'SIGKILL');
    await s.waitTasks(tasks, { timeout: 20_000 });
    for (const t of tasks) {
      expect(t.state).toBe('FAILED');
      expect(t.exception).toBeInstanceOf(BackendError);
      expect(t.exception!.message).toMatch(/Dask client process .* exited \(SIGKILL\)/);
    }
    expect(dask.clientState.value).toBe('failed');
    const late = new ComputeTask({ executable: '/bin/true' });
    await s.submitTasks([late]);
    await s.waitTasks([late], { timeout: 10_000 });
    expect(late.exception).toBeInstanceOf(BackendError);
    await s.close();
    await expectNoProcessesLeft(mark, 15_000); // the LocalCluster's workers died with the process group

    const again = await DaskExecutionBackend.create({ resources: { nWorkers: 1 } });
    await using s2 = new Session({ backends: [again] });
    const t = new ComputeTask({ function: { python: 'operator:add' }, args: [2, 2] });
    await s2.submitTasks([t]);
    expect(await t).toMatchObject({ state: 'DONE', returnValue: 4 });
    expect(alive(pid)).toBe(false);
  }, 120_000);
});
