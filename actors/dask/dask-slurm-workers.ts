import { spawn, type ChildProcess } from 'node:child_process';
import { discoverSlurm } from '../hpc/node-discovery.js';
import { killTree } from '../process/kill-tree.js';
import { srunArgs } from '../../src/hpc/srun-args.js';
import { pythonPathEnv } from './dask-client.js';

export interface DaskSlurmOptions {
  /** nodes to use (default: every node of the cluster, or of the allocation) */
  nodes?: number;
  /** Dask workers per node (default 1); the node's GPUs are split between them */
  workersPerNode?: number;
  /** threads per worker (default 1; also its `--cpus-per-task`) */
  threadsPerWorker?: number;
  /** resources every worker declares besides `GPU` (e.g. `{ CPU: 4 }`) */
  resources?: Record<string, number>;
  /** extra srun flags */
  srunArgs?: string[];
  /** the address workers reach the scheduler on (default: this host's name) */
  schedulerHost?: string;
}

/**
 * Dask workers as SLURM job steps (`srun … python -m distributed.cli.dask_worker`), each with its
 * share of the node's GPUs (`--gpus`) declared as `--resources GPU=n`: the dask-jobqueue role for
 * sites without it. Inside an allocation (SLURM_JOB_ID) the steps overlap it; outside, each srun
 * is its own job. Every srun runs in its own process group and is killed as a group.
 */
export class DaskSlurmWorkers {
  private readonly steps: ChildProcess[] = [];
  private logTail = '';

  constructor(
    private readonly options: DaskSlurmOptions,
    private readonly python: string,
    private readonly pythonPath: string[] = [],
  ) {}

  /** Starts the steps; resolves with how many workers will connect. */
  async start(scheduler: string, tag: string): Promise<number> {
    const o = this.options;
    const all = await discoverSlurm();
    const nodes = all.slice(0, o.nodes ?? all.length);
    if (!nodes.length) throw new Error('SLURM reports no nodes (scontrol show nodes)');
    const per = o.workersPerNode ?? 1;
    const threads = o.threadsPerWorker ?? 1;
    const inAllocation = Boolean(process.env.SLURM_JOB_ID);
    const env = { ...process.env, PYTHONPATH: pythonPathEnv(this.pythonPath) };
    for (const node of nodes) {
      const gpus = Math.floor(node.gpus.length / per);
      for (let i = 0; i < per; i++) {
        const res = Object.entries({ ...o.resources, ...(gpus ? { GPU: gpus } : {}) })
          .map(([k, v]) => `${k}=${v}`)
          .join(',');
        const step = { node: node.hostname, gpus, jobName: `rhapsody-dask-${tag}`, extra: [`--cpus-per-task=${threads}`, ...(o.srunArgs ?? [])] };
        const args = srunArgs(
          step,
          [
            this.python,
            '-m',
            'distributed.cli.dask_worker',
            scheduler,
            '--nthreads',
            String(threads),
            '--nworkers',
            '1',
            '--name',
            `${node.hostname}-${i}`,
            '--no-dashboard',
            '--no-nanny',
            '--death-timeout',
            '30',
            ...(res ? ['--resources', res] : []),
          ],
          inAllocation,
        );
        const child = spawn('srun', args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true, env });
        child.on('error', (e) => (this.logTail += `\nsrun: ${e.message}`));
        child.stderr!.setEncoding('utf8').on('data', (c: string) => (this.logTail = (this.logTail + c).slice(-4000)));
        this.steps.push(child);
      }
    }
    return this.steps.length;
  }

  /** Recent srun / worker output, for error messages. */
  get log(): string {
    return this.logTail.trim();
  }

  /** pids of the srun processes still running */
  get pids(): number[] {
    return this.steps.filter((c) => c.exitCode === null && c.signalCode === null).map((c) => c.pid!);
  }

  /** Stops each srun and its group (srun then ends its step): the runtime's kill-tree. */
  async close(): Promise<void> {
    await Promise.all(this.steps.map((c) => (c.exitCode !== null || c.signalCode !== null ? undefined : killTree(c))));
  }
}
