// Which srun outcomes are SLURM's failures (a BackendError on the rank), and which of those are
// infrastructure (retried under `retries`): srun's own stderr lines as SLURM 23 prints them.
import { describe, expect, it } from 'vitest';
import { slurmFailure } from '../../actors/hpc/slurm-launcher.js';
import type { RankResult } from '../../src/hpc/job.js';

const rank = (exitCode: number | null, stderr: string): RankResult => ({ rank: 0, hostname: 'n1', exitCode, signal: null, stdout: '', stderr });
const judged = (exitCode: number | null, stderr: string) => {
  const r = slurmFailure(rank(exitCode, stderr));
  return { exitCode: r.exitCode, error: r.error?.message ?? null, infrastructure: r.infrastructure ?? false };
};

describe('slurmFailure', () => {
  it('leaves a rank that succeeded, or that failed on its own, as it is', () => {
    expect(judged(0, '')).toEqual({ exitCode: 0, error: null, infrastructure: false });
    expect(judged(9, 'srun: error: n1: task 0: Exited with exit code 9\n')).toEqual({ exitCode: 9, error: null, infrastructure: false });
    expect(judged(137, 'srun: error: n1: task 0: Killed\n')).toEqual({ exitCode: 137, error: null, infrastructure: false });
    expect(judged(2, '/bin/sh: 1: nope: not found\n')).toEqual({ exitCode: 2, error: null, infrastructure: false });
    // an srun warning on a step that succeeded is not a failure
    expect(judged(0, 'srun: error: ioctl(TIOCGWINSZ): Inappropriate ioctl for device\n')).toEqual({ exitCode: 0, error: null, infrastructure: false });
  });

  it('a step killed because its node failed is infrastructure, though srun exits 0', () => {
    expect(judged(0, 'srun: error: Node failure on n2\nsrun: error: Node failure on n2\n')).toEqual({ exitCode: null, error: 'SLURM: Node failure on n2', infrastructure: true });
  });

  it('a step SLURM could not create or reach is infrastructure', () => {
    expect(judged(1, 'srun: error: Unable to create step for job 12: Requested nodes are busy\n').infrastructure).toBe(true);
    expect(judged(1, 'srun: error: Unable to contact slurm controller (connect failure)\n').infrastructure).toBe(true);
    expect(judged(1, 'srun: error: Task launch for StepId=5.0 failed on node n1: Communication connection failure\n').infrastructure).toBe(true);
    expect(judged(1, 'srun: error: n2: task 0: Exited with exit code 1\nsrun: error: Node failure on n2\n')).toEqual({ exitCode: 1, error: 'SLURM: Node failure on n2', infrastructure: true });
  });

  it('a request SLURM refuses as such is its failure, but not infrastructure (another attempt is refused the same way)', () => {
    expect(judged(1, 'srun: error: Unable to allocate resources: Requested node configuration is not available\n')).toEqual({
      exitCode: 1,
      error: 'SLURM: Unable to allocate resources: Requested node configuration is not available',
      infrastructure: false,
    });
    expect(judged(1, 'srun: error: Invalid numeric value "abc" for --mem.\n').infrastructure).toBe(false);
    expect(judged(1, 'srun: fatal: Invalid --distribution specification\n').infrastructure).toBe(false);
  });
});
