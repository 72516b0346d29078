import { join } from 'node:path';
import type { JobSpec } from '../../src/hpc/job.js';
import type { NodeInfo } from '../../src/hpc/resource-scheduler.js';
import { envSnapshot } from '../process/env-snapshot.js';
import type { SpawnerPool } from '../process/spawner-pool.js';
import type { Launcher } from './launcher.js';
import { discoverLocal } from './node-discovery.js';
import { rankProcess, runRankGroup, type RankObserver, type RunningJob } from './rank-group.js';

/** Ranks are local processes, each in its own process group. */
export class LocalLauncher implements Launcher {
  readonly kind = 'local' as const;
  constructor(private readonly spawner: SpawnerPool) {}

  discover(): Promise<NodeInfo[]> {
    return discoverLocal();
  }

  run(job: JobSpec, observer?: RankObserver): RunningJob {
    const baseEnv = envSnapshot(); // process.env when the job starts, once for its ranks
    return runRankGroup(
      job,
      this.spawner,
      (spec) => {
        const { file, args, input } = rankProcess(spec);
        const o = spec.template.options;
        const spillPrefix = job.outputDir ? join(job.outputDir, `${job.uid}.rank${spec.rank}`) : undefined;
        return { file, args, input, cwd: spec.template.cwd, env: spec.env, baseEnv, timeout: o?.timeout, stdout: spec.template.stdout, stderr: spec.template.stderr, spillPrefix };
      },
      undefined,
      observer,
    );
  }
}
