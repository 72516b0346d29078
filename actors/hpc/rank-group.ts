import type { JobSpec, RankResult, RankSpec } from '../../src/hpc/job.js';
import type { SpawnRequest, SpawnResult } from '../process/process-spawner.js';
import type { SpawnerPool } from '../process/spawner-pool.js';
import { assetPath } from '../assets.js';
import type { RankJob, RankReport, ResultMark } from './rank-runner.mjs';

// the runner's own copy (it cannot be imported: it is an entry point); both are checked against the declared mark
const RESULT_MARK: ResultMark = '\u001eRHAPSODY_RESULT ';
export const RANK_RUNNER = assetPath('hpc/rank-runner.mjs');

export interface RunningJob {
  done: Promise<RankResult[]>;
  kill(reason: 'canceled' | 'timeout' | 'peer-failed'): void;
}

/** Told when each rank's process starts and ends (the HPC backend's process-group actor listens). */
export interface RankObserver {
  started(spec: RankSpec): void;
  exited(spec: RankSpec, result: RankResult): void;
}

/** The process a rank runs: its executable, or node + the rank runner for a function. */
export function rankProcess(spec: RankSpec): { file: string; args: string[]; input?: string } {
  const c = spec.command;
  if (c.kind === 'executable') return { file: c.file, args: c.args, input: spec.template.stdin };
  return { file: process.execPath, args: [RANK_RUNNER], input: JSON.stringify({ fn: c.fn, args: c.args } satisfies RankJob) };
}

/** Splits a function rank's result line off its stdout. */
export function takeResult(stdout: string): { stdout: string; result?: RankReport } {
  const at = stdout.lastIndexOf(`\n${RESULT_MARK}`);
  if (at < 0) return { stdout };
  const line = stdout.slice(at + 1 + RESULT_MARK.length).trim();
  try {
    return { stdout: stdout.slice(0, at), result: JSON.parse(line) };
  } catch {
    return { stdout };
  }
}

export function toRankResult(spec: RankSpec, hostname: string, r: SpawnResult, killed: string | null): RankResult {
  const base: RankResult = { rank: spec.rank, hostname, exitCode: r.exitCode, signal: r.signal, stdout: r.stdout, stderr: r.stderr, killed };
  if (r.error) base.error = { name: 'Error', message: r.error };
  if (spec.command.kind === 'function') {
    const { stdout, result } = takeResult(r.stdout);
    base.stdout = stdout;
    if (result?.ok) base.returnValue = result.value;
    else if (result?.error) base.error = result.error;
  }
  return base;
}

/**
 * Runs every rank of a job as its own process (through the spawner, each in its own process
 * group), reporting each start and exit to the observer (the job's process-group chart, which
 * decides when the others stop: `kill`). `wrap` turns a rank into the request that launches it
 * (locally, or under srun).
 */
export function runRankGroup(job: JobSpec, spawner: SpawnerPool, wrap: (spec: RankSpec) => SpawnRequest, hostnameOf: (spec: RankSpec) => string = (s) => s.node, observer?: RankObserver): RunningJob {
  const kills: Array<((reason?: 'canceled' | 'timeout') => void) | null> = job.ranks.map(() => null);
  const why: Array<string | null> = job.ranks.map(() => null);
  let stopping: string | null = null;
  const stopAll = (reason: string, except = -1) => {
    if (stopping) return;
    stopping = reason;
    kills.forEach((k, i) => {
      if (i === except) return;
      why[i] ??= reason;
      k?.(reason === 'timeout' ? 'timeout' : 'canceled');
    });
  };
  const done = Promise.all(
    job.ranks.map(async (spec, i) => {
      let r: SpawnResult;
      try {
        r = await spawner.run(wrap(spec), (kill) => {
          kills[i] = kill;
          observer?.started(spec);
          if (stopping) {
            why[i] ??= stopping;
            kill('canceled');
          }
        });
      } catch (err) {
        const failed: RankResult = {
          rank: spec.rank,
          hostname: hostnameOf(spec),
          exitCode: null,
          signal: null,
          stdout: '',
          stderr: '',
          error: { name: 'BackendError', message: (err as Error).message },
          killed: why[i],
          // the spawner rejects only when it failed itself (see ConcurrentExecutionBackend)
          infrastructure: true,
        };
        if (!kills[i]) observer?.started(spec);
        observer?.exited(spec, failed);
        return failed;
      }
      kills[i] = null;
      const killed = r.killed === 'timeout' ? 'timeout' : why[i];
      const result = toRankResult(spec, hostnameOf(spec), r, killed);
      if (!observer && (result.exitCode !== 0 || result.error)) stopAll('peer-failed', i);
      observer?.exited(spec, result);
      return result;
    }),
  );
  return { done, kill: (reason) => stopAll(reason) };
}
