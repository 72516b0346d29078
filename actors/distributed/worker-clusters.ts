import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { killTree } from '../process/kill-tree.js';
import { srunArgs } from '../../src/hpc/srun-args.js';
import { assetPath } from '../assets.js';

/** Starts workers somewhere that can reach the backend's Redis (the LocalCluster / dask-jobqueue role). */
export interface WorkerCluster {
  start(connection: string, prefix: string): Promise<void>;
  close(): Promise<void>;
  /** how many workers it starts, when it knows (the backend waits for them to register) */
  readonly size?: number;
}

export interface WorkerSpec {
  /** e.g. 'GPU=1,CPU=4' */
  resources?: string;
  concurrency?: number;
}

/** The `rhapsody worker` command line, from the built package or from the sources (with tsx). */
export function workerCommand(args: string[]): { file: string; args: string[] } {
  const dist = assetPath('cli.js');
  if (existsSync(dist)) return { file: process.execPath, args: [dist, 'worker', ...args] };
  const source = assetPath('../src/cli.ts');
  return { file: process.execPath, args: ['--import', 'tsx', source, 'worker', ...args] };
}

function workerArgs(connection: string, prefix: string, spec: WorkerSpec): string[] {
  return ['--connection', connection, '--prefix', prefix, ...(spec.resources ? ['--resources', spec.resources] : []), ...(spec.concurrency ? ['--concurrency', String(spec.concurrency)] : [])];
}

abstract class ProcessCluster implements WorkerCluster {
  protected readonly children: ChildProcess[] = [];
  abstract start(connection: string, prefix: string): Promise<void>;

  /** `watchParent`: an IPC channel whose loss tells a local worker that this process died. */
  protected launch(file: string, args: string[], watchParent = false): void {
    const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'inherit', ...(watchParent ? (['ipc'] as const) : [])], detached: true });
    child.on('error', () => undefined);
    // the channel must not keep this process alive
    (child.channel as { unref?: () => void } | undefined)?.unref?.();
    this.children.push(child);
  }

  /** pids of the worker processes (or their sruns) */
  get pids(): number[] {
    return this.children.filter((c) => c.exitCode === null && c.signalCode === null).map((c) => c.pid!);
  }

  async close(): Promise<void> {
    await Promise.all(
      this.children.map(async (c) => {
        if (c.exitCode !== null || c.signalCode !== null) return;
        await killTree(c);
      }),
    );
  }
}

/**
 * Workers as local processes.
 *
 * @example
 * const dist = await DistributedExecutionBackend.create({
 *   cluster: new LocalCluster([{ resources: 'GPU=1', concurrency: 4 }, { concurrency: 4 }]),
 * });
 */
export class LocalCluster extends ProcessCluster {
  constructor(readonly workers: WorkerSpec[] = [{}, {}]) {
    super();
  }

  get size(): number {
    return this.workers.length;
  }

  async start(connection: string, prefix: string): Promise<void> {
    for (const spec of this.workers) {
      const cmd = workerCommand(workerArgs(connection, prefix, spec));
      this.launch(cmd.file, cmd.args, true);
    }
  }
}

export interface SlurmClusterOptions {
  workers: Array<WorkerSpec & { node?: string; gpus?: number }>;
  /** extra srun flags */
  srunArgs?: string[];
}

/**
 * Workers as SLURM job steps across the allocation (or each its own job): the dask-jobqueue role.
 *
 * @example
 * const dist = await DistributedExecutionBackend.create({
 *   cluster: new SlurmCluster({ workers: [{ node: 'n1', gpus: 1, resources: 'GPU=1' }, { node: 'n2', resources: 'CPU=8' }] }),
 * });
 */
export class SlurmCluster extends ProcessCluster {
  constructor(readonly options: SlurmClusterOptions) {
    super();
  }

  get size(): number {
    return this.options.workers.length;
  }

  async start(connection: string, prefix: string): Promise<void> {
    for (const [i, spec] of this.options.workers.entries()) {
      const cmd = workerCommand(workerArgs(connection, prefix, spec));
      const step = { node: spec.node, gpus: spec.gpus, jobName: `rhapsody-worker-${process.pid}-${i}`, extra: this.options.srunArgs };
      this.launch('srun', srunArgs(step, [cmd.file, ...cmd.args]));
    }
  }
}
