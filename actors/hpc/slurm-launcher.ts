import { execFile } from 'node:child_process';
import type { JobSpec, RankResult } from '../../src/hpc/job.js';
import type { NodeInfo } from '../../src/hpc/resource-scheduler.js';
import { srunArgs } from '../../src/hpc/srun-args.js';
import type { SpawnerPool } from '../process/spawner-pool.js';
import type { Launcher } from './launcher.js';
import { discoverSlurm } from './node-discovery.js';
import { rankProcess, runRankGroup, type RankObserver, type RunningJob } from './rank-group.js';

/**
 * Ranks are `srun` job steps (one per rank, on the node the scheduler chose), inside the current
 * allocation when there is one (`--overlap`), else each its own job. A rank with GPUs asks SLURM for
 * that many (`--gpus`) and gets exactly its policy's ids in CUDA_VISIBLE_DEVICES. Stopping a job
 * sends SIGTERM to its sruns, which cancels the steps, and `scancel --name` for per-rank jobs.
 */
export class SlurmLauncher implements Launcher {
  readonly kind = 'slurm' as const;
  private readonly running = new Set<{ job: RunningJob; lost: boolean }>();
  private watchdog: NodeJS.Timeout | null = null;
  private misses = 0;

  constructor(
    private readonly spawner: SpawnerPool,
    /** how often the controller is pinged while steps run (ms); two misses fail the running jobs */
    private readonly pingInterval = 2000,
  ) {}

  /**
   * While steps run, ping the controller. If it stops answering, steps can no longer be accounted
   * for or canceled: stop them and fail their tasks with a BackendError rather than wait forever.
   */
  private watch(): void {
    if (this.watchdog) return;
    this.watchdog = setInterval(() => {
      if (this.running.size === 0) {
        clearInterval(this.watchdog!);
        this.watchdog = null;
        this.misses = 0;
        return;
      }
      execFile('scontrol', ['ping'], { timeout: 5000 }, (err, stdout) => {
        const up = !err && /\bUP\b/.test(stdout);
        this.misses = up ? 0 : this.misses + 1;
        if (this.misses < 2) return;
        for (const entry of this.running) {
          entry.lost = true;
          entry.job.kill('canceled');
        }
      });
    }, this.pingInterval);
    this.watchdog.unref();
  }

  discover(): Promise<NodeInfo[]> {
    return discoverSlurm();
  }

  run(job: JobSpec, observer?: RankObserver): RunningJob {
    const inAllocation = Boolean(process.env.SLURM_JOB_ID);
    // unique across sessions and processes, so scancel --name hits only this job's steps
    const jobName = `rhapsody-${process.pid}-${job.uid}`;
    const running = runRankGroup(
      job,
      this.spawner,
      (spec) => {
        const { file, args, input } = rankProcess(spec);
        const o = spec.template.options;
        const step = { node: spec.node, jobName, killOnBadExit: true, gpus: spec.gpus.length, cwd: spec.template.cwd, extra: o?.launcherArgs };
        const srun = srunArgs(step, ['/usr/bin/env', `CUDA_VISIBLE_DEVICES=${spec.gpus.join(',')}`, file, ...args], inAllocation);
        return { file: 'srun', args: srun, input, env: spec.env, timeout: o?.timeout, stdout: spec.template.stdout, stderr: spec.template.stderr };
      },
      undefined,
      observer,
    );
    const entry = { job: running, lost: false };
    this.running.add(entry);
    this.watch();
    const done = running.done.then((results) => {
      this.running.delete(entry);
      // a rank stopped by the watchdog is lost even if it then exited 0 (its shell outlived the signal)
      return results.map((r) =>
        entry.lost && (r.exitCode !== 0 || r.killed)
          ? { ...r, killed: null, error: { name: 'BackendError', message: 'SLURM: the controller stopped answering (scontrol ping); the step was stopped' }, infrastructure: true }
          : slurmFailure(r),
      );
    });
    const kill = (reason: 'canceled' | 'timeout' | 'peer-failed') => {
      running.kill(reason); // SIGTERM to srun cancels its step
      // outside an allocation every rank is its own job: scancel them by name as well
      if (!inAllocation) execFile('scancel', ['--quiet', `--name=${jobName}`], { timeout: 10_000 }, () => undefined);
    };
    return { kill, done };
  }
}

/** srun's report of a step killed because its node failed ("srun: error: Node failure on n2"). */
const NODE_FAILURE = 'srun: error: Node failure';

/** srun's own complaints about the task ("task 0: Exited with exit code 9") are not SLURM failures. */
const TASK_REPORT = /^srun: error: \S+: tasks? [\d,-]+: (Exited with exit code|Killed|Terminated|Segmentation|Aborted)/;

/**
 * What SLURM says when the request itself is wrong (bad `launcherArgs`, more than the partition or
 * a node can ever give): another attempt would be refused the same way, so it is not infrastructure.
 */
const REQUEST_REFUSED = /invalid|unrecognized|not recognized|Requested node configuration is not available|More processors requested than permitted|exceeds? .*limit|Access denied|permission denied/i;

/**
 * A rank whose srun failed for SLURM's reasons (controller unreachable, step not created, node
 * down or failed) carries a BackendError, so the task fails with a BackendError cause rather than an
 * exit code. Those are infrastructure failures (retried under `retries`), unless SLURM refused the
 * request itself; a rank that exits non-zero on its own ("task 0: Exited with exit code 9") is the
 * task's failure. Exported for its unit test.
 */
export function slurmFailure(r: RankResult): RankResult {
  if (r.error || r.killed) return r;
  // srun exits 0 when the controller killed the step because its node failed (set DOWN, lost)
  if (r.exitCode === 0 && !r.stderr.includes(NODE_FAILURE)) return r;
  let problems = r.stderr.split('\n').filter((l) => (l.startsWith('srun: error:') || l.startsWith('srun: fatal:')) && !TASK_REPORT.test(l));
  if (r.exitCode === 0) problems = problems.filter((l) => l.startsWith(NODE_FAILURE));
  if (problems.length === 0) return r;
  const message = `SLURM: ${problems[0]!.replace(/^srun: (error|fatal): /, '')}`;
  const infrastructure = !problems.some((l) => REQUEST_REFUSED.test(l));
  return { ...r, exitCode: r.exitCode === 0 ? null : r.exitCode, error: { name: 'BackendError', message }, infrastructure };
}
