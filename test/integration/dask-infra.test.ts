// Dask infrastructure failures on a real dask.distributed LocalCluster: a worker that dies under a
// task (KilledWorker once the scheduler's allowed-failures are spent) is infrastructure, so a task
// with `retries` runs again and ends DONE once; the task's own exception is not retried.
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ComputeTask, DaskExecutionBackend, Session, TaskExecutionError } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses } from '../helpers.js';

const mark = markProcesses();
const dir = mkdtempSync(join(tmpdir(), 'rh-dask-infra-'));
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await expectNoProcessesLeft(mark, 20_000);
}, 30_000);

const runs = (marker: string) => (existsSync(marker) ? readFileSync(marker, 'utf8').trim().split('\n').filter(Boolean).length : 0);

describe('DaskExecutionBackend: infrastructure failures', () => {
  it('a worker killed under a task: retried under retries (DONE once), FAILED without; the task own exception is not retried', async () => {
    // the scheduler gives up on a task at the first death of its worker (KilledWorker) instead of
    // rescheduling it itself (default 3): the failure reaches the task's own retry policy
    process.env.DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES = '0';
    let dask: DaskExecutionBackend;
    try {
      dask = await DaskExecutionBackend.create({ resources: { nWorkers: 2 } });
    } finally {
      delete process.env.DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES;
    }
    await using s = new Session({ backends: [dask] });
    // the command's parent is the worker process that runs it: the first run kills it
    const killer = (name: string) => {
      const marker = join(dir, name);
      return { marker, script: `echo run >> ${marker}; if [ "$(wc -l < ${marker})" -lt 2 ]; then kill -9 $PPID; sleep 5; fi; echo ok` };
    };
    const a = killer('retried');
    const b = killer('once');
    const retried = new ComputeTask({ executable: '/bin/sh', arguments: ['-c', a.script], retries: { max: 1, delay: 200 } });
    const once = new ComputeTask({ executable: '/bin/sh', arguments: ['-c', b.script] });
    const tasks = [retried, once];
    await s.submitTasks(tasks);
    await s.waitTasks(tasks, { timeout: 90_000 });

    expect([retried.state, retried.attempts, retried.stdout]).toEqual(['DONE', 2, 'ok\n']);
    expect(runs(a.marker)).toBe(2);

    expect([once.state, once.attempts]).toEqual(['FAILED', 1]);
    expect(once.exception).toBeInstanceOf(TaskExecutionError);
    expect(once.exception!.message).toMatch(/KilledWorker/);
    expect(runs(b.marker)).toBe(1);

    // after the kills: a task queued on a worker that dies is lost with it (KilledWorker) as well
    const own = new ComputeTask({ function: { python: 'operator:truediv' }, args: [1, 0], retries: { max: 2, delay: 10 } });
    await s.submitTasks([own]);
    await s.waitTasks([own], { timeout: 30_000 });
    expect([own.state, own.attempts, own.exception?.name]).toEqual(['FAILED', 1, 'ZeroDivisionError']);
  }, 150_000);
});
