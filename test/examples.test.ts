import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = async (file: string, ...args: string[]) => (await promisify(execFile)('npx', ['tsx', file, ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 })).stdout;

/** Runs an example with a private TMPDIR: its stdout and what it left in that temp dir. */
const runInTmp = async (file: string) => {
  const tmp = mkdtempSync(join(tmpdir(), 'rh-example-tmp-'));
  try {
    const { stdout } = await promisify(execFile)('npx', ['tsx', file], { cwd: root, encoding: 'utf8', timeout: 120_000, env: { ...process.env, TMPDIR: tmp } });
    return { out: stdout, left: readdirSync(tmp).filter((f) => !/^tsx-\d+$/.test(f)) }; // tsx-<uid>: tsx's own compile cache
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
};

describe('examples', () => {
  it('00-wait-modes: the three wait modes', async () => {
    const out = await run('examples/00-wait-modes.ts');
    expect(out).toMatch(/== waitTasks\n\S+ DONE: 144\n\S+ DONE: hello from a process\n\S+ failed: .*exited with code 2: disk on fire\n\S+ failed: function raised/);
    expect(out).toMatch(/== Promise.all \(fail fast\)\n(Command failed|Function raised): /);
    expect(out).toMatch(/→ error: .*disk on fire/);
    expect(out).toContain('pipeline result: 42');
  }, 130_000);

  it.each(['threads', 'processes', 'inline'])(
    '01-callables on %s',
    async (executor) => {
      const out = await run('examples/01-callables.ts', executor);
      const [, pi, html] = out.trim().split('\n');
      expect(Number(pi)).toBeCloseTo(3.14, 1);
      expect(html).toBe('<html>hello</html>');
    },
    130_000,
  );

  it('02-multi-backend: explicit and implicit routing', async () => {
    const out = await run('examples/02-multi-backend.ts');
    expect(out).toContain('(local launcher: '); // hpc_gpu is an HpcExecutionBackend with 4 pretend GPUs
    expect(out.match(/Running on host: /g)).toHaveLength(2);
    expect(out).toContain('Task 1 ran on: local_cpu');
    expect(out).toContain('Task 2 ran on: hpc_gpu');
    expect(out).toContain('Task 3 ran on: local_cpu');
  }, 130_000);

  it('08-distributed: the three kinds and a GPU task on a local cluster', async () => {
    const out = await run('examples/08-distributed.ts');
    expect(out.match(/: DONE -> /g)).toHaveLength(10);
    expect(out).toMatch(/DONE -> 144\n?$/);
  }, 130_000);

  it('09-dask: the three kinds, a Python callable and a GPU task on the default LocalCluster', async () => {
    const out = await run('examples/09-dask.ts');
    expect(out.match(/: DONE -> /g)).toHaveLength(11);
    expect(out).toContain('DONE -> 5\n');
    expect(out).toMatch(/DONE -> 144\n?$/);
  }, 130_000);

  it('06-mixed-hpc-ai: a simulation, then its AI summary on the embedded engine; nothing left in the temp dir', async () => {
    const { out, left } = await runInTmp('examples/06-mixed-hpc-ai.ts');
    expect(left).toEqual([]);
    expect(out).toContain('Simulation Done: energy converged to -1.274 after 412 steps\n');
    expect(out).toContain('AI Summary: The quick robot ran a simulation and wrote short summary of all results for every team member\n');
  }, 130_000);

  it('10-pipeline: simulation → parse → AI summary in one batch, a fan-out/fan-in, a dependency failure; nothing left in the temp dir', async () => {
    const { out, left } = await runInTmp('examples/10-pipeline.ts');
    expect(left).toEqual([]);
    // the simulation's stdout parsed on a thread; the summary (the tiny model's fixed sentence) follows
    expect(out).toContain('parsed energies: -1.25 -1.5625 -1.9531 -2.4414\n');
    expect(out).toMatch(/AI summary: \S.*\n/);
    expect(out).toContain('fan-out/fan-in: sum of squares 1..8 = 204 (8 workers DONE)\n');
    expect(out).toContain('dependent of a failed task: FAILED, DependencyError: Task orphan: dependency broken failed\n');
  }, 130_000);

  it('07-multi-service: two managed services routed by name, and a ComputeTask calling one', async () => {
    const out = await run('examples/07-multi-service.ts');
    expect(out).toMatch(/summarizer at http:\/\/127\.0\.0\.1:\d+\/v1, classifier at http:\/\/127\.0\.0\.1:\d+\/v1/);
    expect(out).toContain('summarizer: The quick robot ran a simulation and wrote short summary of all\n');
    expect(out).toContain('classifier: ["The quick","The quick"]\n');
    expect(out).toContain('compute task via HTTP: The quick robot\n');
  }, 130_000);

  it('demo: runs the mixed workload and prints the summary', async () => {
    const out = await run('examples/demo.ts');
    expect(out).toMatch(/21065 tasks in [\d.]+ s/);
    expect(out).toMatch(/'llm\/inference'\s*│\s*64\s*│\s*64/);
    expect(out).toContain('AI summary (tiny model, greedy): The quick robot ran a simulation and wrote short summary of all\n');
    expect(out).toMatch(/'threads\/function'\s*│\s*20200\s*│\s*20200/);
    expect(out).toMatch(/pi ≈ 3\.1\d/);
  }, 130_000);
});
