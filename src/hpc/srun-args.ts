/** One srun step: one task on one node. */
export interface SrunStep {
  /** `--nodelist` */
  node?: string;
  /** GPUs to ask SLURM for (`--gpus=N`; SLURM then sets CUDA_VISIBLE_DEVICES for the step) */
  gpus?: number;
  /** `--job-name`: `scancel --name` finds the step by it */
  jobName?: string;
  /** `--chdir` */
  cwd?: string;
  /** a failing task ends the step (`--kill-on-bad-exit=1`) */
  killOnBadExit?: boolean;
  /** extra flags, before the command */
  extra?: readonly string[];
}

/**
 * The srun argv (without `srun` itself) for a step, as every srun caller builds it: ranks, Dask
 * and distributed workers, managed model services. Inside an allocation (`SLURM_JOB_ID` set) steps
 * share it with `--overlap`; outside, each step is its own job.
 *
 * @example
 * execFile('srun', srunArgs({ node: 'n1', gpus: 1, jobName: 'rank-0' }, ['python', 'train.py']));
 */
export function srunArgs(step: SrunStep, command: readonly string[], inAllocation = Boolean(process.env.SLURM_JOB_ID)): string[] {
  return [
    '--nodes=1',
    '--ntasks=1',
    '--quiet',
    ...(step.node ? [`--nodelist=${step.node}`] : []),
    ...(step.jobName ? [`--job-name=${step.jobName}`] : []),
    ...(step.killOnBadExit ? ['--kill-on-bad-exit=1'] : []),
    ...(step.gpus ? [`--gpus=${step.gpus}`] : []),
    ...(inAllocation ? ['--overlap'] : []),
    ...(step.cwd ? [`--chdir=${step.cwd}`] : []),
    ...(step.extra ?? []),
    ...command,
  ];
}
