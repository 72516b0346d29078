// DaskExecutionBackend on a real dask.distributed LocalCluster (Debian python3-distributed), started
// here by the backend itself: one cluster for the file (2 workers, one with a GPU resource).
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { InspectionEvent } from 'xstate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackendError, ComputeTask, ConcurrentExecutionBackend, DaskExecutionBackend, ResourceError, Session, SessionError, TaskExecutionError, TaskValidationError } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses } from '../helpers.js';

const mark = markProcesses();
const fixtures = fileURLToPath(new URL('../fixtures', import.meta.url));
let dask: DaskExecutionBackend;
let s: Session;
const inspected: InspectionEvent[] = [];

beforeAll(async () => {
  dask = await DaskExecutionBackend.create({ resources: { nWorkers: 2, workerResources: [{ GPU: 1 }, {}] }, pythonPath: [fixtures] });
  // one session for the file: closing a session shuts its backends down
  s = new Session({ backends: [dask], inspect: (e) => inspected.push(e) });
}, 120_000);

afterAll(async () => {
  const pid = dask._pids.client;
  await s.close();
  expect(dask.clientState.value).toBe('closed');
  expect(pid !== null && existsSync(`/proc/${pid}`)).toBe(false);
  await expectNoProcessesLeft(mark, 15_000); // the LocalCluster's scheduler and worker processes too
}, 60_000);

const waitFor = async (cond: () => boolean, ms = 20_000) => {
  const until = Date.now() + ms;
  while (!cond() && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  return cond();
};

describe('DaskExecutionBackend on a LocalCluster', () => {
  it('runs Python callables by reference natively: sync, async, kwargs, attribute paths; exceptions keep type, message and traceback', async () => {
    const tasks = [
      new ComputeTask({ function: { python: 'dask_fixtures:add' }, args: [2, 3], kwargs: { scale: 10 } }),
      new ComputeTask({ function: { python: 'dask_fixtures:double_later' }, args: [21] }),
      new ComputeTask({ function: { python: 'dask_fixtures:Holder.triple' }, args: [5] }),
      new ComputeTask({ function: { python: 'os.path:join' }, args: ['a', 'b'] }),
      new ComputeTask({ function: { python: 'dask_fixtures:boom' }, args: ['no luck'] }),
      new ComputeTask({ function: { python: 'no_such_module_here:fn' } }),
      new ComputeTask({ function: { python: 'dask_fixtures:missing' } }),
      new ComputeTask({ function: { python: 'dask_fixtures:NOT_CALLABLE' } }),
      new ComputeTask({ function: { python: 'dask_fixtures:not_json' } }),
      new ComputeTask({ function: { python: 'dask_fixtures:noop' } }),
    ];
    await s.submitTasks(tasks);
    await s.waitTasks(tasks, { timeout: 60_000 });
    expect(tasks.map((t) => t.state)).toEqual(['DONE', 'DONE', 'DONE', 'DONE', 'FAILED', 'FAILED', 'FAILED', 'FAILED', 'FAILED', 'DONE']);
    expect(tasks.slice(0, 4).map((t) => t.returnValue)).toEqual([50, 42, 15, 'a/b']);
    expect(tasks[0]!.stdout).toBe('50');
    expect(tasks[9]!.returnValue).toBe(null);
    const boom = tasks[4]!.exception!;
    expect(boom.name).toBe('ValueError');
    expect(boom.message).toBe('no luck');
    expect(boom.stack).toMatch(/Traceback[\s\S]*dask_fixtures\.py", line \d+, in boom/);
    expect(tasks[5]!.exception).toMatchObject({ name: 'ModuleNotFoundError', message: expect.stringContaining("cannot load no_such_module_here:fn: No module named 'no_such_module_here'") });
    expect(tasks[6]!.exception).toMatchObject({ name: 'AttributeError', message: expect.stringContaining('missing') });
    expect(tasks[7]!.exception).toMatchObject({ name: 'TypeError', message: expect.stringContaining('names a int, not a callable') });
    expect(tasks[8]!.exception).toMatchObject({ name: 'TypeError', message: expect.stringContaining('cannot be sent back as JSON') });
  }, 90_000);

  it('ships closures as the threads executor does: captured values travel; what cannot is refused at submit', async () => {
    const factor = 6;
    const scale = (x: number) => x * factor;
    const t = new ComputeTask({ function: (n: number) => scale(n) + 1, args: [7] });
    await s.submitTasks([t]);
    await expect(t).resolves.toMatchObject({ state: 'DONE', returnValue: 43 });
    const bound = ((x: number) => x).bind(null);
    const bad = new ComputeTask({ function: () => bound(1) });
    await expect(s.submitTasks([bad])).rejects.toThrow(TaskValidationError);
    expect(bad.state).toBe('NEW');
  });

  it('runs JS functions with node on the workers (sync, async, module reference) and executables with cwd, env, shell, exit codes and timeouts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rh-dask-'));
    const tasks = [
      new ComputeTask({ function: (n: number) => n * n, args: [7] }),
      new ComputeTask({
        function: async (a: number, o: { by: number }) => {
          await new Promise((r) => setTimeout(r, 10));
          return a * o.by;
        },
        args: [21],
        kwargs: { by: 2 },
      }),
      new ComputeTask({
        function: () => {
          throw new RangeError('far away');
        },
      }),
      new ComputeTask({ function: { module: 'node:path', export: 'join' }, args: ['x', 'y'] }),
      new ComputeTask({ function: () => (globalThis as Record<string, unknown>).notShipped ?? undefinedOuter }),
      new ComputeTask({ executable: '/bin/sh', arguments: ['-c', 'echo "$PWD $GREETING"'], taskBackendSpecificKwargs: { cwd: dir, env: { GREETING: 'hi' } } }),
      new ComputeTask({ executable: 'echo shell $((1 + 2))', taskBackendSpecificKwargs: { shell: true } }),
      new ComputeTask({ executable: '/bin/sh', arguments: ['-c', 'echo out; echo bad >&2; exit 4'] }),
      new ComputeTask({ executable: '/no/such/binary' }),
      new ComputeTask({ executable: '/bin/sleep', arguments: ['20'], taskBackendSpecificKwargs: { timeout: 300 } }),
    ];
    await s.submitTasks(tasks);
    await s.waitTasks(tasks, { timeout: 60_000 });
    expect(tasks.map((t) => t.state)).toEqual(['DONE', 'DONE', 'FAILED', 'DONE', 'FAILED', 'DONE', 'DONE', 'FAILED', 'FAILED', 'FAILED']);
    expect(tasks[0]!.returnValue).toBe(49);
    expect(tasks[1]!.returnValue).toBe(42);
    expect(tasks[2]!.exception).toBeInstanceOf(RangeError);
    expect(tasks[2]!.exception!.message).toBe('far away');
    expect(tasks[3]!.returnValue).toBe(join('x', 'y'));
    expect(tasks[4]!.exception).toMatchObject({ name: 'ReferenceError', message: expect.stringContaining('must be self-contained') });
    expect(tasks[5]!.stdout).toBe(`${dir} hi\n`);
    expect(tasks[6]!.stdout).toBe('shell 3\n');
    expect(tasks[7]!.exception).toBeInstanceOf(TaskExecutionError);
    expect(tasks[7]!.exception).toMatchObject({ exitCode: 4, stderr: 'bad\n' });
    expect(tasks[7]!.stdout).toBe('out\n');
    expect(tasks[8]!.exception).toBeInstanceOf(TaskExecutionError);
    expect(tasks[8]!.exception!.message).toMatch(/FileNotFoundError/);
    expect(tasks[9]!.exception!.message).toMatch(/timed out after 300 ms/);
  }, 90_000);

  it('maps taskBackendSpecificKwargs.resources to Dask resources; a request no worker can satisfy is a ResourceError, not pending', async () => {
    const gpu = Array.from({ length: 4 }, () => new ComputeTask({ function: { python: 'dask_fixtures:where' }, taskBackendSpecificKwargs: { resources: { GPU: 1 } } }));
    const cpu = new ComputeTask({ function: { python: 'dask_fixtures:add' }, args: [1, 1], taskBackendSpecificKwargs: { resources: { CPU: 1 } } });
    const tooMany = new ComputeTask({ executable: '/bin/true', taskBackendSpecificKwargs: { resources: { GPU: 2 } } });
    const unknown = new ComputeTask({ executable: '/bin/true', taskBackendSpecificKwargs: { resources: { TPU: 1 } } });
    const all = [...gpu, cpu, tooMany, unknown];
    await s.submitTasks(all);
    await s.waitTasks(all, { timeout: 60_000 });
    expect(gpu.map((t) => t.state)).toEqual(['DONE', 'DONE', 'DONE', 'DONE']);
    expect(new Set(gpu.map((t) => (t.returnValue as { worker: string }).worker))).toEqual(new Set(['rhapsody-0']));
    expect(cpu.state).toBe('DONE');
    for (const t of [tooMany, unknown]) {
      expect(t.state).toBe('FAILED');
      expect(t.exception).toBeInstanceOf(ResourceError);
      expect(t.exception!.message).toContain(t.uid);
    }
    expect(unknown.exception!.message).toMatch(/TPU.*workers offer/);
  }, 90_000);

  it("cancellation kills the running command's process group on the worker; a reused uid never returns a stale result", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rh-dask-cancel-'));
    const pidFile = join(dir, 'pid');
    {
      const t = new ComputeTask({ uid: 'reused', executable: '/bin/sh', arguments: ['-c', `sleep 30 & echo $! > ${pidFile}; wait`] });
      await s.submitTasks([t]);
      expect(await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '')).toBe(true);
      const sleeper = Number(readFileSync(pidFile, 'utf8'));
      expect(existsSync(`/proc/${sleeper}`)).toBe(true);
      await s.cancelTask(t);
      expect(t.state).toBe('CANCELED');
      expect(await waitFor(() => !existsSync(`/proc/${sleeper}`), 10_000)).toBe(true); // the grandchild too: the whole group
    }
    for (const n of [1, 2]) {
      const t = new ComputeTask({ uid: 'reused', function: { python: 'dask_fixtures:add' }, args: [n, 0] });
      await s.submitTasks([t]);
      expect(await t).toMatchObject({ state: 'DONE', returnValue: n });
    }
  }, 90_000);

  it('checks tasks at submit: a malformed Python reference or non-JSON args is a TaskValidationError; other backends refuse { python } with a SessionError', async () => {
    const bad = new ComputeTask({ uid: 'badref', function: { python: 'not a reference' } });
    await expect(s.submitTasks([bad])).rejects.toThrow(TaskValidationError);
    await expect(s.submitTasks([bad])).rejects.toMatchObject({ taskUid: 'badref', field: 'function.python' });
    const big = new ComputeTask({ uid: 'bigint', function: { python: 'dask_fixtures:add' }, args: [1n, 2] });
    await expect(s.submitTasks([big])).rejects.toMatchObject({ taskUid: 'bigint', field: 'args' });
    const local = await ConcurrentExecutionBackend.create({ maxWorkers: 1 });
    await using s2 = new Session({ backends: [local] });
    const py = new ComputeTask({ uid: 'py-on-local', function: { python: 'os.path:join' }, args: ['a'] });
    await expect(s2.submitTasks([py])).rejects.toThrow(SessionError);
    await expect(s2.submitTasks([py])).rejects.toThrow(/py-on-local.*cannot run a Python function/);
  });

  it('shows the client process, its cluster and workers in the inspector', async () => {
    const client = inspected.filter((e) => e.type === '@xstate.snapshot' && (e.actorRef as { id?: string }).id === 'dask-client:dask');
    expect(client.length).toBeGreaterThan(0);
    const snap = dask.clientState;
    expect(snap.value).toBe('ready');
    expect(snap.context).toMatchObject({ backend: 'dask', mode: 'local', cluster: 'LocalCluster', pid: dask._pids.client, scheduler: dask.schedulerAddress });
    expect(snap.context.python).toMatch(/python/);
    expect(snap.context.workers.map((w) => w.name).sort()).toEqual(['rhapsody-0', 'rhapsody-1']);
    expect(snap.context.workers.find((w) => w.name === 'rhapsody-0')!.resources).toEqual({ GPU: 1, CPU: 1 });
    expect(inspected.some((e) => e.type === '@xstate.snapshot' && (e.actorRef as { id?: string }).id === dask._actor.id)).toBe(true);
  });

  it('rejects options that exclude each other and an interpreter that cannot import distributed (naming what was tried and how to install)', async () => {
    expect(() => new DaskExecutionBackend({ address: 'tcp://127.0.0.1:1', cluster: 'x:y' })).toThrow(BackendError);
    expect(() => new DaskExecutionBackend({ scale: 2 })).toThrow(/"scale" needs "cluster"/);
    const err = await DaskExecutionBackend.create({ python: '/no/such/python3' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect((err as Error).message).toMatch(/tried \/no\/such\/python3 \(not found\).*apt-get install python3-distributed.*pip install/);
  });
});

declare const undefinedOuter: unknown;
