// Starts the engines the suite uses (a 2-node SLURM cluster with 4 fake GPUs per node) once for
// all test files, and stops them at the end. A failure here is reported by the tests that need
// the engine, loudly, rather than skipping them.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const engines = fileURLToPath(new URL('./engines/', import.meta.url));
export const SLURM_DIR = process.env.RHAPSODY_SLURM_DIR ?? '/tmp/rhapsody-slurm';

export function setup(): void {
  try {
    execFileSync('bash', [`${engines}slurm-up.sh`], { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, RHAPSODY_SLURM_DIR: SLURM_DIR } });
  } catch (err) {
    console.error(`global setup: SLURM did not start (${(err as Error).message}); the SLURM tests will fail`);
  }
}

export function teardown(): void {
  // RHAPSODY_SLURM_KEEP=1: a cluster shared by several runs at once stays up for the others
  if (process.env.RHAPSODY_SLURM_KEEP === '1') return;
  try {
    execFileSync('bash', [`${engines}slurm-down.sh`], { stdio: 'ignore', env: { ...process.env, RHAPSODY_SLURM_DIR: SLURM_DIR } });
  } catch {
    // nothing was running
  }
}
