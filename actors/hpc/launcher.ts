import type { JobSpec } from '../../src/hpc/job.js';
import type { NodeInfo } from '../../src/hpc/resource-scheduler.js';
import type { RankObserver, RunningJob } from './rank-group.js';

export type LauncherKind = 'local' | 'slurm' | 'mpi';

/** Starts a placed job's ranks somewhere: one implementation per file beside this one. */
export interface Launcher {
  readonly kind: LauncherKind;
  discover(): Promise<NodeInfo[]>;
  run(job: JobSpec, observer?: RankObserver): RunningJob;
}
