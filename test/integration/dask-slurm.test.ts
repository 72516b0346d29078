// DaskExecutionBackend with Dask workers as SLURM job steps, on the project's 2-node SLURM cluster
// with fake GPUs (test/engines/slurm-up.sh, started by the global setup): `--resources GPU=n` from
// each node's GPUs.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { ComputeTask, DaskExecutionBackend, ResourceError, Session } from '../../src/index.js';
import { SLURM_DIR } from '../global-setup.js';
import { expectNoProcessesLeft, markProcesses } from '../helpers.js';

const mark = markProcesses();
process.env.SLURM_CONF = `${SLURM_DIR}/etc/slurm.conf`;
afterAll(() => expectNoProcessesLeft(mark, 20_000), 30_000);

const jobs = (tag: string) =>
  execFileSync('squeue', ['-h', '-o', '%j'], { encoding: 'utf8' })
    .split('\n')
    .filter((j) => j.includes(tag));

describe('DaskExecutionBackend on SLURM', () => {
  it("starts one Dask worker per node as an srun step with its node's GPUs as resources; GPU tasks run there; shutdown ends the steps", async () => {
    const dask = await DaskExecutionBackend.create({ slurm: { nodes: 2, workersPerNode: 1 } });
    const ctx = dask.clientState.context;
    expect(ctx.mode).toBe('slurm');
    expect(ctx.workers.map((w) => w.name).sort()).toEqual(['n1-0', 'n2-0']);
    for (const w of ctx.workers) expect(w.resources).toEqual({ GPU: 4 });
    const steps = dask._pids.slurm;
    expect(steps).toHaveLength(2);
    const tag = `rhapsody-dask-${(dask as unknown as { keyPrefix: string }).keyPrefix}`;
    expect(jobs(tag)).toHaveLength(2);
    {
      await using s = new Session({ backends: [dask] });
      const gpu = Array.from(
        { length: 4 },
        () => new ComputeTask({ executable: '/bin/sh', arguments: ['-c', 'echo "$SLURMD_NODENAME $CUDA_VISIBLE_DEVICES"'], taskBackendSpecificKwargs: { resources: { GPU: 4 } } }),
      );
      const py = new ComputeTask({ function: { python: 'os:getenv' }, args: ['SLURM_STEP_GPUS'], taskBackendSpecificKwargs: { resources: { GPU: 2 } } });
      const tooMany = new ComputeTask({ executable: '/bin/true', taskBackendSpecificKwargs: { resources: { GPU: 5 } } });
      const all = [...gpu, py, tooMany];
      await s.submitTasks(all);
      await s.waitTasks(all, { timeout: 60_000 });
      expect(gpu.map((t) => t.state)).toEqual(['DONE', 'DONE', 'DONE', 'DONE']);
      for (const t of gpu) expect(t.stdout).toMatch(/^n[12] 0,1,2,3\n$/); // the step's GPUs, from SLURM
      expect(py.state).toBe('DONE');
      expect(String(py.returnValue).split(',')).toHaveLength(4);
      expect(tooMany.exception).toBeInstanceOf(ResourceError);
    }
    for (const pid of steps) expect(existsSync(`/proc/${pid}`)).toBe(false);
    const until = Date.now() + 15_000;
    while (jobs(tag).length && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    expect(jobs(tag)).toEqual([]);
  }, 150_000);
});
