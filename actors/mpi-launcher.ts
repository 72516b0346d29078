import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobSpec, RankResult } from '../src/hpc/job.js';
import type { NodeInfo } from '../src/hpc/resource-scheduler.js';
import type { Launcher } from './launchers.js';
import { discoverLocal } from './node-discovery.js';
import type { SpawnResult } from './process-spawner.js';
import { rankProcess, toRankResult, type RunningJob } from './rank-group.js';
import type { SpawnerPool } from './spawner-pool.js';

/** Open MPI settings that work as root, oversubscribed, on loopback. */
const MPI_ENV: Record<string, string> = {
  OMPI_ALLOW_RUN_AS_ROOT: '1',
  OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1',
  OMPI_MCA_rmaps_base_oversubscribe: '1',
};

/**
 * One `mpirun` per job, MPMD: every rank is its own app context (`-n 1 -host H -x VAR=… cmd : …`),
 * so each rank gets exactly its rank environment and GPUs. Per-rank output comes from
 * `--output-filename`; mpirun reports one exit code for the job (the first failing rank's), which
 * every failed rank carries.
 */
export class MpiLauncher implements Launcher {
  readonly kind = 'mpi' as const;
  constructor(private readonly spawner: SpawnerPool) {}

  discover(): Promise<NodeInfo[]> {
    return discoverLocal();
  }

  run(job: JobSpec): RunningJob {
    let kill: ((reason?: 'canceled' | 'timeout') => void) | null = null;
    let stopped: 'canceled' | 'timeout' | null = null;
    const done = (async (): Promise<RankResult[]> => {
      const dir = await mkdtemp(join(tmpdir(), `rhapsody-mpi-${job.uid}-`));
      try {
        const args = ['--output-filename', join(dir, 'out')];
        const timeout = Math.max(0, ...job.ranks.map((r) => r.template.options?.timeout ?? 0));
        for (const [i, spec] of job.ranks.entries()) {
          const { file, args: rankArgs } = rankProcess(spec);
          const env = { ...spec.env };
          if (spec.command.kind === 'function') {
            const jobFile = join(dir, `job.${spec.rank}.json`);
            await writeFile(jobFile, JSON.stringify({ fn: spec.command.fn, args: spec.command.args }));
            env.RHAPSODY_JOB_FILE = jobFile;
          }
          if (i > 0) args.push(':');
          args.push('-n', '1', '-host', spec.node, ...(spec.template.cwd ? ['-wdir', spec.template.cwd] : []), ...(spec.template.options?.launcherArgs ?? []));
          for (const [k, v] of Object.entries(env)) args.push('-x', `${k}=${v}`);
          args.push(file, ...rankArgs);
        }
        const r: SpawnResult = await this.spawner.run(
          { file: 'mpirun', args, env: MPI_ENV, input: job.ranks[0]?.command.kind === 'executable' ? job.ranks[0].template.stdin : undefined, timeout: timeout || undefined },
          (k) => {
            kill = k;
            if (stopped) k(stopped);
          },
        );
        const killed = r.killed === 'timeout' ? 'timeout' : stopped;
        // mpirun names the first rank that failed: "Process name: [[7956,1],1]"
        const named = /Process name:\s*\[\[\d+,\d+\],(\d+)\]/.exec(r.stderr);
        const failedRank = r.exitCode !== 0 && named ? Number(named[1]) : null;
        return Promise.all(
          job.ranks.map(async (spec) => {
            const base = join(dir, 'out', '1', `rank.${spec.rank}`);
            const stdout = await readFile(join(base, 'stdout'), 'utf8').catch(() => '');
            const stderr = await readFile(join(base, 'stderr'), 'utf8').catch(() => '');
            // a function rank that reported a result succeeded whatever the job's code says
            const perRank: SpawnResult = { ...r, stdout, stderr, exitCode: r.exitCode, error: r.error };
            const result = toRankResult(spec, spec.node, perRank, killed);
            if (r.exitCode !== 0 && failedRank !== null && spec.rank !== failedRank) {
              // not the culprit: it either finished (a function that reported) or was stopped
              const finished = spec.command.kind === 'function' && result.returnValue !== undefined && !result.error;
              result.exitCode = finished ? 0 : null;
              if (!finished) result.killed ??= 'peer-failed';
            }
            return result;
          }),
        );
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    })();
    return {
      done,
      kill: (reason) => {
        stopped = reason;
        kill?.(reason);
      },
    };
  }
}
