// Against a real 2-node SLURM cluster with 4 fake GPUs per node (test/engines/slurm-up.sh, started
// by test/global-setup.ts). Sequential: the last test stops the controller and starts it again.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComputeTask, DistributedExecutionBackend, HpcExecutionBackend, Policy, ResourceError, Session, SlurmCluster, System, TaskCanceledError } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses, processesWithMark } from '../helpers.js';
import { checkGpuExclusivity, checkHpcExamples, findGpus, gpuProbe, makePolicies, runExample } from '../helpers-hpc.js';

const SLURM_DIR = process.env.RHAPSODY_SLURM_DIR ?? '/tmp/rhapsody-slurm';
const mark = markProcesses();

function steps(): string[] {
  return execFileSync('squeue', ['-h', '-s', '-o', '%i %j'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
}

async function noStepsLeft(): Promise<void> {
  const until = Date.now() + 10_000;
  while (steps().length && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
  expect(steps()).toEqual([]);
}

beforeAll(() => {
  const conf = `${SLURM_DIR}/etc/slurm.conf`;
  if (!existsSync(conf)) throw new Error(`no SLURM cluster: ${conf} is missing (npm test starts it with test/engines/slurm-up.sh)`);
  process.env.SLURM_CONF = conf;
  execFileSync('sinfo', ['-h'], { stdio: 'pipe' }); // throws when the controller is not answering
});
afterAll(() => expectNoProcessesLeft(mark, 10_000));

describe.sequential('HpcExecutionBackend, SLURM launcher', () => {
  it('discovers the nodes and runs MPMD groups as srun steps on the nodes the policies name', async () => {
    const hpc = await HpcExecutionBackend.create({ launcher: 'slurm' });
    await using s = new Session({ backends: [hpc] });
    const { nodes } = await System.discover(hpc);
    expect(nodes).toEqual([
      { hostname: 'n1', cpus: 8, gpus: [0, 1, 2, 3] },
      { hostname: 'n2', cpus: 8, gpus: [0, 1, 2, 3] },
    ]);
    const policies = makePolicies(findGpus(nodes), 8);
    const job = new ComputeTask({
      executable: '/bin/sh',
      arguments: ['-c', 'echo "$RHAPSODY_RANK $SLURMD_NODENAME $RHAPSODY_HOSTNAME [$CUDA_VISIBLE_DEVICES] $SLURM_STEP_ID"'],
      taskBackendSpecificKwargs: {
        processTemplates: [
          [2, { policy: policies[0] }],
          [2, { policy: policies[5] }],
        ],
      },
    });
    const fn = new ComputeTask({
      function: async () => `${process.env.SLURMD_NODENAME}|${process.env.CUDA_VISIBLE_DEVICES}`,
      taskBackendSpecificKwargs: { processTemplate: { policy: new Policy({ placement: Policy.Placement.HOST_NAME, hostName: 'n2', gpuAffinity: [3] }) } },
    });
    await s.submitTasks([job, fn]);
    await s.waitTasks([job, fn], { timeout: 60_000 });
    expect(job.state).toBe('DONE');
    const lines = job
      .stdout!.trim()
      .split('\n')
      .map((l) => l.split(' ').slice(0, 4).join(' '));
    expect(lines).toEqual(['0 n1 n1 [0]', '1 n1 n1 [0]', '2 n2 n2 [1]', '3 n2 n2 [1]']);
    expect(fn.returnValue).toBe('n2|3');
    await noStepsLeft();
  }, 90_000);

  it('8 single-GPU tasks on one node with 4 GPUs: never more than 4 at once, distinct GPUs', async () => {
    await using s = new Session({ backends: [await HpcExecutionBackend.create({ launcher: 'slurm' })] });
    const tasks = Array.from({ length: 8 }, () => gpuProbe(new Policy({ placement: Policy.Placement.HOST_NAME, hostName: 'n1', gpus: 1 })));
    await s.submitTasks(tasks);
    await s.waitTasks(tasks, { timeout: 60_000 });
    expect(tasks.map((t) => t.state)).toEqual(Array(8).fill('DONE'));
    checkGpuExclusivity(tasks, 4);
  }, 90_000);

  it('a failing rank fails the job with its code and cancels the other steps; no step is left', async () => {
    await using s = new Session({ backends: [await HpcExecutionBackend.create({ launcher: 'slurm' })] });
    const job = new ComputeTask({
      executable: '/bin/sh',
      arguments: ['-c', 'if [ "$RHAPSODY_RANK" = 1 ]; then sleep 0.5; exit 9; fi; sleep 81'],
      taskBackendSpecificKwargs: {
        processTemplates: [
          [1, { policy: { hostName: 'n1' } }],
          [1, { policy: { hostName: 'n2' } }],
          [1, { policy: { hostName: 'n2' } }],
        ],
      },
    });
    const impossible = new ComputeTask({ executable: '/bin/true', taskBackendSpecificKwargs: { processTemplate: { policy: { hostName: 'n7' } } } });
    await s.submitTasks([job, impossible]);
    await s.waitTasks([job, impossible], { timeout: 60_000 });
    expect(job.state).toBe('FAILED');
    expect(job.exitCode).toBe(9);
    expect(job.exception!.message).toMatch(/rank 1 on n2 exited with code 9/);
    expect(impossible.exception).toBeInstanceOf(ResourceError);
    await noStepsLeft();
  }, 90_000);

  it('cancel of a running multi-node job ends every step; the next queued job gets the GPUs', async () => {
    await using s = new Session({
      backends: [
        await HpcExecutionBackend.create({
          launcher: 'slurm',
          nodes: [
            { hostname: 'n1', cpus: 8, gpus: [0] },
            { hostname: 'n2', cpus: 8, gpus: [0] },
          ],
        }),
      ],
    });
    const big = new ComputeTask({
      executable: '/bin/sleep',
      arguments: ['82'],
      taskBackendSpecificKwargs: {
        processTemplates: [
          [1, { policy: { hostName: 'n1', gpus: 1 } }],
          [1, { policy: { hostName: 'n2', gpus: 1 } }],
        ],
      },
    });
    const next = new ComputeTask({
      executable: '/bin/sh',
      arguments: ['-c', 'echo $SLURMD_NODENAME $CUDA_VISIBLE_DEVICES'],
      taskBackendSpecificKwargs: { processTemplate: { policy: { hostName: 'n2', gpuAffinity: [0] } } },
    });
    await s.submitTasks([big, next]);
    const until = Date.now() + 30_000;
    while (steps().length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    expect(steps().length).toBe(2);
    expect(next.state).toBe('QUEUED');
    expect(await big.cancel()).toBe(true);
    await expect(big).rejects.toBeInstanceOf(TaskCanceledError);
    expect((await next).stdout).toBe('n2 0\n');
    await noStepsLeft();
  }, 90_000);

  it('the HPC examples run on SLURM', async () => {
    const env = { ...process.env, SLURM_CONF: `${SLURM_DIR}/etc/slurm.conf` };
    const e03 = await runExample('examples/03-hpc-process-groups.ts', 'slurm', env);
    const e04 = await runExample('examples/04-gpu-affinity.ts', 'slurm', env);
    const e05 = await runExample('examples/05-heterogeneous.ts', 'slurm', env);
    checkHpcExamples({ e03, e04, e05 });
    for (const out of [e03, e04, e05]) expect(out).not.toContain('pretend GPUs'); // SLURM's own GPUs
    expect(e03).toMatch(/on n[12]"/);
    await noStepsLeft();
  }, 180_000);

  it('DistributedExecutionBackend with a SlurmCluster: workers run as SLURM steps', async () => {
    const cluster = new SlurmCluster({
      workers: [
        { node: 'n1', resources: 'GPU=1' },
        { node: 'n2', resources: 'CPU=4' },
      ],
    });
    const backend = await DistributedExecutionBackend.create({ cluster });
    const s = new Session({ backends: [backend] });
    try {
      expect(steps().filter((l) => l.includes('rhapsody-worker')).length).toBe(2);
      const tasks = [
        new ComputeTask({ executable: '/bin/sh', arguments: ['-c', 'echo $SLURMD_NODENAME'], taskBackendSpecificKwargs: { resources: { GPU: 1 } } }),
        new ComputeTask({ executable: '/bin/sh', arguments: ['-c', 'echo $SLURMD_NODENAME'], taskBackendSpecificKwargs: { resources: { CPU: 4 } } }),
        new ComputeTask({ function: (x: number) => x * 3, args: [5] }),
      ];
      await s.submitTasks(tasks);
      await s.waitTasks(tasks, { timeout: 60_000 });
      expect(tasks.map((t) => t.stdout?.trim() ?? t.returnValue)).toEqual(['n1', 'n2', '15']);
    } finally {
      await s.close();
    }
    await noStepsLeft();
  }, 120_000);

  it('the controller stopped mid-run: the job fails with a BackendError cause, no hang; then it comes back', async () => {
    const hpc = await HpcExecutionBackend.create({ launcher: 'slurm' });
    const s = new Session({ backends: [hpc] });
    const engines = fileURLToPath(new URL('../engines/', import.meta.url));
    try {
      const t = new ComputeTask({ executable: '/bin/sleep', arguments: ['83'], taskBackendSpecificKwargs: { processTemplates: [[2, {}]] } });
      await s.submitTasks([t]);
      const until = Date.now() + 30_000;
      while (steps().length < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      // stop the controller alone: slurmd and the running steps stay
      execFileSync('bash', ['-c', `kill -9 $(cat ${SLURM_DIR}/slurmctld.pid)`]);
      const t0 = Date.now();
      await s.waitTasks([t], { timeout: 120_000 });
      expect(t.state).toBe('FAILED');
      expect(Date.now() - t0).toBeLessThan(120_000);
      const next = new ComputeTask({ executable: '/bin/true', taskBackendSpecificKwargs: { processTemplate: {} } });
      await s.submitTasks([next]);
      await s.waitTasks([next], { timeout: 120_000 });
      expect(next.state).toBe('FAILED');
      for (const task of [t, next]) {
        expect((task.exception as Error & { cause?: Error }).cause?.name, task.exception?.message).toBe('BackendError');
      }
    } finally {
      await s.close();
      execFileSync('bash', [`${engines}slurm-down.sh`], { stdio: 'ignore', env: { ...process.env, RHAPSODY_SLURM_DIR: SLURM_DIR } });
      // with no controller nobody could cancel the step: its task outlives slurmstepd; clean it up
      for (const p of processesWithMark(mark).filter((x) => x.cmd === '/bin/sleep 83')) process.kill(p.pid, 'SIGKILL');
      // the daemons must not carry this test's process mark
      const { RHAPSODY_TEST_MARK: _, ...env } = process.env;
      execFileSync('bash', [`${engines}slurm-up.sh`], { stdio: 'ignore', env: { ...env, RHAPSODY_SLURM_DIR: SLURM_DIR } });
    }
  }, 300_000);
});
