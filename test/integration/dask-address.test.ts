// DaskExecutionBackend on an existing scheduler (`address`): a real scheduler and 2 workers started
// here by test/engines/dask-up.sh (GPU=2 each), stopped by test/engines/dask-down.sh.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendError, ComputeTask, DaskExecutionBackend, ResourceError, Session } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses } from '../helpers.js';

const mark = markProcesses();
const dir = mkdtempSync(join(tmpdir(), 'rh-dask-sched-'));
const engines = new URL('../engines/', import.meta.url).pathname;
let address = '';
const env = () => ({ ...process.env, DASK_DIR: dir, DASK_PORT: address.split(':').pop()! });
const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'latin1'));

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise((r) => srv.close(r));
  return port;
}

beforeAll(async () => {
  address = `tcp://127.0.0.1:${await freePort()}`;
  execFileSync('bash', [join(engines, 'dask-up.sh')], { env: env(), stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
}, 150_000);

afterAll(async () => {
  execFileSync('bash', [join(engines, 'dask-down.sh')], { env: env(), stdio: 'ignore', timeout: 60_000 });
  await expectNoProcessesLeft(mark, 20_000);
}, 90_000);

describe('DaskExecutionBackend on an existing scheduler', () => {
  it('runs tasks on its workers (the worker module is uploaded to them), maps resources, and leaves the scheduler running on shutdown', async () => {
    const schedulerPid = Number(readFileSync(join(dir, 'scheduler.pid'), 'utf8'));
    for (const round of [1, 2]) {
      const dask = await DaskExecutionBackend.create({ address });
      expect(dask.schedulerAddress).toBe(address);
      expect(dask.clientState.context).toMatchObject({ mode: 'address', cluster: null });
      await using s = new Session({ backends: [dask] });
      const tasks = [
        new ComputeTask({ function: { python: 'operator:add' }, args: [round, 40] }),
        new ComputeTask({ executable: '/bin/echo', arguments: [`round ${round}`], taskBackendSpecificKwargs: { resources: { GPU: 2 } } }),
        new ComputeTask({ function: (n: number) => n + 1, args: [round] }),
        new ComputeTask({ executable: '/bin/true', taskBackendSpecificKwargs: { resources: { GPU: 3 } } }),
      ];
      await s.submitTasks(tasks);
      await s.waitTasks(tasks, { timeout: 60_000 });
      expect(tasks.map((t) => t.state)).toEqual(['DONE', 'DONE', 'DONE', 'FAILED']);
      expect(tasks[0]!.returnValue).toBe(round + 40);
      expect(tasks[1]!.stdout).toBe(`round ${round}\n`);
      expect(tasks[2]!.returnValue).toBe(round + 1);
      expect(tasks[3]!.exception).toBeInstanceOf(ResourceError);
      await s.close();
      expect(alive(schedulerPid)).toBe(true); // not ours to stop
    }
  }, 120_000);

  it('the scheduler goes away: in-flight tasks end FAILED with a BackendError in bounded time and the client process exits', async () => {
    const dask = await DaskExecutionBackend.create({ address });
    const s = new Session({ backends: [dask] });
    const tasks = [new ComputeTask({ executable: '/bin/sleep', arguments: ['8'] }), new ComputeTask({ function: { python: 'time:sleep' }, args: [8] })];
    await s.submitTasks(tasks);
    await new Promise((r) => setTimeout(r, 1000));
    const client = dask._pids.client!;
    const schedulerPid = Number(readFileSync(join(dir, 'scheduler.pid'), 'utf8'));
    const t0 = Date.now();
    process.kill(-schedulerPid, 'SIGKILL');
    await s.waitTasks(tasks, { timeout: 30_000 });
    expect(Date.now() - t0).toBeLessThan(30_000);
    for (const t of tasks) {
      expect(t.state).toBe('FAILED');
      expect(t.exception).toBeInstanceOf(BackendError);
    }
    const until = Date.now() + 15_000;
    while (alive(client) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(alive(client)).toBe(false);
    expect(dask.clientState.value).toBe('failed');
    await s.close();
  }, 90_000);
});
