// Against a real Open MPI (Debian's openmpi-bin, installed by test/provision.sh).
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComputeTask, HpcExecutionBackend, Session, TaskCanceledError } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses, processesWithMark } from '../helpers.js';

const mark = markProcesses();
beforeAll(() => {
  execFileSync('mpirun', ['--version'], { stdio: 'pipe' }); // throws when Open MPI is missing
});
afterAll(() => expectNoProcessesLeft(mark, 10_000));

const NODES = [{ hostname: 'localhost', cpus: 8, gpus: [0, 1, 2, 3] }];

describe('HpcExecutionBackend, MPI launcher', () => {
  it('runs a job as one MPMD mpirun: every rank gets its rank environment and GPUs', async () => {
    await using s = new Session({ backends: [await HpcExecutionBackend.create({ launcher: 'mpi', nodes: NODES })] });
    const exe = new ComputeTask({
      executable: '/bin/sh',
      arguments: ['-c', 'echo "$RHAPSODY_RANK/$RHAPSODY_WORLD_SIZE mpi=$OMPI_COMM_WORLD_RANK/$OMPI_COMM_WORLD_SIZE gpu=[$CUDA_VISIBLE_DEVICES]"'],
      taskBackendSpecificKwargs: {
        processTemplates: [
          [2, { policy: { gpuAffinity: [1] } }],
          [1, { policy: { gpuAffinity: [3] } }],
        ],
      },
    });
    const fn = new ComputeTask({ function: async (x: number) => Number(process.env.OMPI_COMM_WORLD_RANK) * x, args: [5], taskBackendSpecificKwargs: { processTemplates: [[3, {}]] } });
    await s.submitTasks([exe, fn]);
    await s.waitTasks([exe, fn], { timeout: 60_000 });
    expect(exe.state).toBe('DONE');
    expect(exe.stdout!.trim().split('\n')).toEqual(['0/3 mpi=0/3 gpu=[1]', '1/3 mpi=1/3 gpu=[1]', '2/3 mpi=2/3 gpu=[3]']);
    expect(exe.ranks!.map((r) => r.exitCode)).toEqual([0, 0, 0]);
    expect(fn.returnValue).toEqual([0, 5, 10]);
  }, 90_000);

  it('a failing rank fails the job with its exit code; cancel stops a running job', async () => {
    await using s = new Session({ backends: [await HpcExecutionBackend.create({ launcher: 'mpi', nodes: NODES })] });
    const bad = new ComputeTask({ executable: '/bin/sh', arguments: ['-c', '[ "$RHAPSODY_RANK" = 1 ] && exit 6; sleep 91'], taskBackendSpecificKwargs: { processTemplates: [[3, {}]] } });
    await s.submitTasks([bad]);
    await s.waitTasks([bad], { timeout: 60_000 });
    expect(bad.state).toBe('FAILED');
    expect(bad.exitCode).toBe(6);
    expect(bad.exception!.message).toMatch(/rank 1 on localhost exited with code 6/);

    const long = new ComputeTask({ executable: '/bin/sleep', arguments: ['92'], taskBackendSpecificKwargs: { processTemplates: [[2, {}]] } });
    await s.submitTasks([long]);
    while (processesWithMark(mark).filter((p) => p.cmd === '/bin/sleep 92').length < 2) await new Promise((r) => setTimeout(r, 50));
    expect(await long.cancel()).toBe(true);
    await expect(long).rejects.toBeInstanceOf(TaskCanceledError);
    expect(processesWithMark(mark).filter((p) => /sleep 9[12]/.test(p.cmd))).toEqual([]);
  }, 90_000);
});
