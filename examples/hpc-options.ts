// Shared by the HPC examples: `--launcher local|slurm|mpi` and a node inventory for machines without
// GPUs (the local and MPI launchers then get 4 pretend GPUs, so placement can be exercised anywhere).
import { availableParallelism, hostname } from 'node:os';
import { parseArgs } from 'node:util';
import type { HpcExecutionBackendOptions } from 'rhapsody';

export function hpcOptions(name?: string): HpcExecutionBackendOptions {
  const { values } = parseArgs({ options: { launcher: { type: 'string', default: 'local' } }, strict: false });
  const launcher = values.launcher as 'local' | 'slurm' | 'mpi';
  if (launcher === 'slurm') return { name, launcher };
  const host = launcher === 'mpi' ? 'localhost' : hostname();
  console.log(`(${launcher} launcher: ${host} gets 4 pretend GPUs, 0-3, so that GPU placement runs on any machine)`);
  return { name, launcher, nodes: [{ hostname: host, cpus: availableParallelism(), gpus: [0, 1, 2, 3] }] };
}
