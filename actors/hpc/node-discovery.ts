import { execFile } from 'node:child_process';
import { availableParallelism, hostname } from 'node:os';
import { promisify } from 'node:util';
import type { NodeInfo } from '../../src/hpc/resource-scheduler.js';

const run = promisify(execFile);

/** GPU ids from nvidia-smi; [] when there is none. */
export async function probeLocalGpus(): Promise<number[]> {
  try {
    const { stdout } = await run('nvidia-smi', ['--query-gpu=index', '--format=csv,noheader'], { timeout: 10_000 });
    return stdout
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** This machine as one node. */
export async function discoverLocal(): Promise<NodeInfo[]> {
  return [{ hostname: hostname(), cpus: availableParallelism(), gpus: await probeLocalGpus() }];
}

/** The SLURM cluster's nodes (`scontrol show nodes -o`), GPUs from their gres (`gpu:4`, `gpu:a100:2(S:0)`). */
export async function discoverSlurm(): Promise<NodeInfo[]> {
  const { stdout } = await run('scontrol', ['show', 'nodes', '-o'], { timeout: 15_000 });
  const nodes: NodeInfo[] = [];
  for (const line of stdout.split('\n')) {
    const field = (name: string) => new RegExp(`(?:^|\\s)${name}=(\\S*)`).exec(line)?.[1];
    const name = field('NodeName');
    if (!name) continue;
    let gpus = 0;
    for (const g of (field('Gres') ?? '').split(',')) {
      const m = /^gpu(?::[^:(]+)?:(\d+)/.exec(g.trim());
      if (m) gpus += Number(m[1]);
    }
    nodes.push({ hostname: name, cpus: Number(field('CPUTot') ?? 1), gpus: Array.from({ length: gpus }, (_, i) => i) });
  }
  return nodes;
}
