import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { ComputeTask, Policy, type NodeInfo } from '../src/index.js';

/** The user's guide's find_gpus / make_policies, in TypeScript. */
export function findGpus(nodes: NodeInfo[]): Array<[string, number]> {
  return nodes.flatMap((n) => n.gpus.map((g) => [n.hostname, g] as [string, number]));
}

export function makePolicies(allGpus: Array<[string, number]>, nprocs = 32): Policy[] {
  return Array.from({ length: nprocs }, (_, i) => {
    const [hostName, gpu] = allGpus[i % allGpus.length]!;
    return new Policy({ placement: Policy.Placement.HOST_NAME, hostName, gpuAffinity: [gpu] });
  });
}

/** A one-GPU task that reports its GPU and when it held it (ns since the epoch). */
export function gpuProbe(policy?: Policy): ComputeTask {
  return new ComputeTask({
    executable: '/bin/sh',
    arguments: ['-c', 'echo "$CUDA_VISIBLE_DEVICES $RHAPSODY_HOSTNAME $(date +%s%N)"; sleep 0.4; echo "$(date +%s%N)"'],
    taskBackendSpecificKwargs: { processTemplate: { policy: policy ?? new Policy({ gpus: 1 }) } },
  });
}

/** Checks that at most `limit` probes overlapped and that overlapping probes held distinct GPUs. */
export function checkGpuExclusivity(tasks: ComputeTask[], limit: number): { maxConcurrent: number } {
  const spans = tasks.map((t) => {
    const [first, second] = (t.stdout ?? '').trim().split('\n');
    const [gpu, host, start] = first!.split(' ');
    return { key: `${host}:${gpu}`, start: Number(start), end: Number(second) };
  });
  // no two spans on the same GPU overlap
  for (const [i, a] of spans.entries()) {
    for (const b of spans.slice(i + 1)) {
      if (a.key === b.key && b.start < a.end && a.start < b.end) throw new Error(`two tasks held ${a.key} at once: ${JSON.stringify([a, b])}`);
    }
  }
  // most spans alive at any instant (sweep over the start and end times)
  const edges = spans
    .flatMap(
      (x) =>
        [
          [x.start, 1],
          [x.end, -1],
        ] as const,
    )
    .sort((p, q) => p[0] - q[0] || p[1] - q[1]);
  let alive = 0;
  let maxConcurrent = 0;
  for (const [, d] of edges) maxConcurrent = Math.max(maxConcurrent, (alive += d));
  if (maxConcurrent > limit) throw new Error(`${maxConcurrent} GPU tasks ran at once (limit ${limit})`);
  return { maxConcurrent };
}

const root = fileURLToPath(new URL('..', import.meta.url));
export const runExample = async (file: string, launcher: string, env: NodeJS.ProcessEnv = process.env) =>
  (await promisify(execFile)('npx', ['tsx', file, '--launcher', launcher], { cwd: root, encoding: 'utf8', timeout: 120_000, env })).stdout;

/** What each HPC example must print, whatever the launcher. */
export function checkHpcExamples(outputs: { e03: string; e04: string; e05: string }): void {
  expect(outputs.e03.match(/finished on/g)).toHaveLength(16);
  expect(outputs.e03).toMatch(/parallel executable ranks: 0@\S+ \| 1@\S+ \| 2@\S+ \| 3@\S+/);
  expect(outputs.e03).toMatch(/parallel function: \["rank 0 of 4 on \S+","rank 1 of 4/);
  expect(outputs.e04).toMatch(/Task \S+: DONE \(output: "\S+ CUDA_VISIBLE_DEVICES=0"\)/);
  expect(outputs.e04).toMatch(/DONE \(output: \["\S+ CUDA_VISIBLE_DEVICES=0","\S+ CUDA_VISIBLE_DEVICES=0","\S+ CUDA_VISIBLE_DEVICES=1","\S+ CUDA_VISIBLE_DEVICES=1"\]\)/);
  expect(outputs.e05.match(/: DONE \(output: /g)).toHaveLength(5);
  expect(outputs.e05).toMatch(/\["\S+#0","\S+#1","\S+#2","\S+#3"\]/);
}
