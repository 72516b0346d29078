import type { JobSpec } from '../src/hpc/job.js';
import type { NodeInfo } from '../src/hpc/resource-scheduler.js';
import { discoverLocal, discoverSlurm } from './node-discovery.js';
import { rankProcess, runRankGroup, type RunningJob } from './rank-group.js';
import type { SpawnerPool } from './spawner-pool.js';

export type LauncherKind = 'local' | 'slurm' | 'mpi';

/** Starts a placed job's ranks somewhere. */
export interface Launcher {
  readonly kind: LauncherKind;
  discover(): Promise<NodeInfo[]>;
  run(job: JobSpec): RunningJob;
}

/** Ranks are local processes, each in its own process group. */
export class LocalLauncher implements Launcher {
  readonly kind = 'local' as const;
  constructor(private readonly spawner: SpawnerPool) {}

  discover(): Promise<NodeInfo[]> {
    return discoverLocal();
  }

  run(job: JobSpec): RunningJob {
    return runRankGroup(job, this.spawner, (spec) => {
      const { file, args, input } = rankProcess(spec);
      const o = spec.template.options;
      return { file, args, input, cwd: spec.template.cwd, env: spec.env, timeout: o?.timeout, stdout: spec.template.stdout, stderr: spec.template.stderr };
    });
  }
}

/**
 * Ranks are `srun` job steps (one per rank, on the node the scheduler chose), inside the current
 * allocation when there is one (`--overlap`), else each its own job. A rank with GPUs asks SLURM for
 * that many (`--gpus`) and gets exactly its policy's ids in CUDA_VISIBLE_DEVICES. Stopping a rank
 * sends SIGTERM to its srun, which cancels the step.
 */
export class SlurmLauncher implements Launcher {
  readonly kind = 'slurm' as const;
  constructor(private readonly spawner: SpawnerPool) {}

  discover(): Promise<NodeInfo[]> {
    return discoverSlurm();
  }

  run(job: JobSpec): RunningJob {
    const inAllocation = Boolean(process.env.SLURM_JOB_ID);
    return runRankGroup(job, this.spawner, (spec) => {
      const { file, args, input } = rankProcess(spec);
      const o = spec.template.options;
      const srun = [
        '--nodes=1', '--ntasks=1', `--nodelist=${spec.node}`, `--job-name=${job.uid}`, '--quiet', '--kill-on-bad-exit=1',
        ...(spec.gpus.length ? [`--gpus=${spec.gpus.length}`] : []),
        ...(inAllocation ? ['--overlap'] : []),
        ...(spec.template.cwd ? [`--chdir=${spec.template.cwd}`] : []),
        ...(o?.launcherArgs ?? []),
        '/usr/bin/env', `CUDA_VISIBLE_DEVICES=${spec.gpus.join(',')}`, file, ...args,
      ];
      return { file: 'srun', args: srun, input, env: spec.env, timeout: o?.timeout, stdout: spec.template.stdout, stderr: spec.template.stderr };
    });
  }
}
