import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobSpec, RankResult } from '../../src/hpc/job.js';
import type { NodeInfo } from '../../src/hpc/resource-scheduler.js';
import type { Launcher } from './launcher.js';
import { discoverLocal } from './node-discovery.js';
import type { SpawnResult } from '../process/process-spawner.js';
import { rankProcess, toRankResult, type RankObserver, type RunningJob } from './rank-group.js';
import type { SpawnerPool } from '../process/spawner-pool.js';

/** Open MPI settings that work as root, oversubscribed, on loopback. */
const MPI_ENV: Record<string, string> = {
  OMPI_ALLOW_RUN_AS_ROOT: '1',
  OMPI_ALLOW_RUN_AS_ROOT_CONFIRM: '1',
  OMPI_MCA_rmaps_base_oversubscribe: '1',
};

/**
 * One `mpirun` per job, MPMD with a hostfile of the job's nodes: every rank is its own app context
 * (`-n 1 -host H -x VAR=… cmd : …`),
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

  run(job: JobSpec, observer?: RankObserver): RunningJob {
    let kill: ((reason?: 'canceled' | 'timeout') => void) | null = null;
    let stopped: 'canceled' | 'timeout' | null = null;
    const done = (async (): Promise<RankResult[]> => {
      const dir = await mkdtemp(join(tmpdir(), `rhapsody-mpi-${job.uid}-`));
      try {
        // a hostfile from the job's nodes, with as many slots as ranks placed there
        const slots = new Map<string, number>();
        for (const r of job.ranks) slots.set(r.node, (slots.get(r.node) ?? 0) + 1);
        const hostfile = join(dir, 'hostfile');
        await writeFile(hostfile, `${[...slots].map(([host, n]) => `${host} slots=${n}`).join('\n')}\n`);
        const args = ['--hostfile', hostfile, '--output-filename', join(dir, 'out')];
        const timeout = Math.max(0, ...job.ranks.map((r) => r.template.options?.timeout ?? 0));
        for (const [i, spec] of job.ranks.entries()) {
          const { file, args: rankArgs } = rankProcess(spec);
          // each rank records its own exit code: mpirun reports only one for the job
          const env: Record<string, string> = { ...spec.env, RHAPSODY_EXIT_FILE: join(dir, `exit.${spec.rank}`) };
          if (spec.command.kind === 'function') {
            const jobFile = join(dir, `job.${spec.rank}.json`);
            await writeFile(jobFile, JSON.stringify({ fn: spec.command.fn, args: spec.command.args }));
            env.RHAPSODY_JOB_FILE = jobFile;
          }
          if (i > 0) args.push(':');
          args.push('-n', '1', '-host', spec.node, ...(spec.template.cwd ? ['-wdir', spec.template.cwd] : []), ...(spec.template.options?.launcherArgs ?? []));
          for (const [k, v] of Object.entries(env)) args.push('-x', `${k}=${v}`);
          args.push('/bin/sh', '-c', '"$@"; c=$?; echo $c > "$RHAPSODY_EXIT_FILE"; exit $c', 'rhapsody-rank', file, ...rankArgs);
        }
        let r: SpawnResult;
        try {
          r = await this.spawner.run(
            { file: 'mpirun', args, env: MPI_ENV, input: job.ranks[0]?.command.kind === 'executable' ? job.ranks[0].template.stdin : undefined, timeout: timeout || undefined },
            (k) => {
              kill = k;
              for (const spec of job.ranks) observer?.started(spec);
              if (stopped) k(stopped);
            },
          );
        } catch (err) {
          // the spawner failed itself (died with mpirun in flight): every rank is lost with it
          await killRanksOf(dir);
          return job.ranks.map((spec) => {
            const lost: RankResult = {
              rank: spec.rank,
              hostname: spec.node,
              exitCode: null,
              signal: null,
              stdout: '',
              stderr: '',
              killed: stopped,
              error: { name: 'BackendError', message: (err as Error).message },
              infrastructure: true,
            };
            if (!kill) observer?.started(spec);
            observer?.exited(spec, lost);
            return lost;
          });
        }
        const killed = r.killed === 'timeout' ? 'timeout' : stopped;
        // orted starts ranks in their own process groups: if mpirun was stopped before it cleaned
        // up, sweep what is left of this job (its ranks carry the job's directory in their env)
        if (killed || r.exitCode !== 0) await killRanksOf(dir);
        // awaited here, or the finally below removes the files while they are read
        return await Promise.all(
          job.ranks.map(async (spec) => {
            const base = join(dir, 'out', '1', `rank.${spec.rank}`);
            const stdout = await readFile(join(base, 'stdout'), 'utf8').catch(() => '');
            const stderr = await readFile(join(base, 'stderr'), 'utf8').catch(() => '');
            const code = await readFile(join(dir, `exit.${spec.rank}`), 'utf8').then(
              (c) => Number(c.trim()),
              () => null,
            );
            // no exit file: the rank was stopped (by mpirun after a peer failed, or by us)
            const perRank: SpawnResult = { ...r, stdout, stderr, exitCode: code ?? (r.exitCode === 0 ? 0 : null), signal: code === null ? r.signal : null };
            const result = toRankResult(spec, spec.node, perRank, killed ?? (code === null && r.exitCode !== 0 ? 'peer-failed' : null));
            if (code === null && r.exitCode !== 0 && !killed && job.ranks.length === 1) {
              // a single rank that mpirun itself could not start
              result.exitCode = r.exitCode;
              result.stderr ||= r.stderr;
              result.killed = null;
            }
            observer?.exited(spec, result);
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
        if (reason === 'peer-failed') return; // mpirun stops a failed rank's peers itself
        stopped = reason;
        kill?.(reason);
      },
    };
  }
}

/** SIGKILLs every process whose environment names this job's directory (Linux /proc). */
async function killRanksOf(dir: string): Promise<void> {
  const { readdir, readFile: read } = await import('node:fs/promises');
  const needle = `RHAPSODY_EXIT_FILE=${dir}/`;
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const env = await read(`/proc/${pid}/environ`, 'latin1').catch(() => '');
    if (!env.includes(needle)) continue;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
