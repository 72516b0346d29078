// The user's guide "Mixed HPC and AI Workloads" as ONE batch (docs/task-graph.md): a simulation
// executable on an HPC backend → a function on threads that parses its stdout → an AITask summary on
// the embedded engine whose prompt is built from both results. No `await sim_task` in between: the
// graph waits. Then a fan-out/fan-in of functions, waited for with session.waitTasks.
// Run: npm run setup:llama && npx tsx examples/10-pipeline.ts [--launcher local|slurm|mpi] [--endpoint URL --model M]
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AITask, ComputeTask, ConcurrentExecutionBackend, HpcExecutionBackend, Session } from 'rhapsody';
import { inferenceBackend } from './ai-options.js';
import { hpcOptions } from './hpc-options.js';

// the "simulation": one line per step, "step energy"
const dir = mkdtempSync(join(tmpdir(), 'rh-sim-'));
process.once('exit', () => rmSync(dir, { recursive: true, force: true })); // leave nothing in the temp dir
const simulate = join(dir, 'simulate.sh');
writeFileSync(simulate, '#!/bin/sh\nawk -v n="$1" \'BEGIN { e = -1; for (i = 1; i <= n; i++) { e = e * 1.25; printf "%d %.4f\\n", i, e } }\'\n');
chmodSync(simulate, 0o755);

/** Runs on a worker thread: the energy column of the simulation's stdout. */
function parseEnergies(stdout: string): number[] {
  return stdout
    .trim()
    .split('\n')
    .map((line) => Number(line.split(' ')[1]));
}

const [hpc, threads, llm] = await Promise.all([
  HpcExecutionBackend.create(hpcOptions('hpc_cluster')),
  ConcurrentExecutionBackend.create({ name: 'threads', executor: 'threads' }),
  inferenceBackend('llm'),
]);
await using session = new Session({ backends: [hpc, threads, llm] });

// 1. simulation → parse → AI summary, submitted together; a task in `args` is replaced by its value
//    (an executable's stdout), and the prompt is a function of the `dependsOn` results
const sim = new ComputeTask({ executable: simulate, arguments: ['4'], backend: 'hpc_cluster' });
const parse = new ComputeTask({ function: parseEnergies, args: [sim], backend: 'threads' });
const summary = new AITask({
  dependsOn: [sim, parse],
  prompt: ([, energies]) => `Summarize the simulation findings: energies ${(energies!.returnValue as number[]).join(', ')}`,
  backend: 'llm',
  maxTokens: 24,
});
const futures = await session.submitTasks([sim, parse, summary]);
// wait mode 1: await the futures (throws if a task, or one it depends on, failed)
const [, parsed, answer] = await Promise.all(futures);
console.log(`parsed energies: ${(parsed!.returnValue as number[]).join(' ')}`);
console.log(`AI summary: ${answer!.response}`);

// 2. fan-out / fan-in: one source, N workers on threads, one reducer taking all N as args
const N = 8;
const source = new ComputeTask({ function: (n: number) => Array.from({ length: n }, (_, i) => i + 1), args: [N], backend: 'threads' });
const workers = Array.from({ length: N }, (_, i) => new ComputeTask({ function: (xs: number[], j: number) => xs[j]! ** 2, args: [source, i], backend: 'threads' }));
const reducer = new ComputeTask({ function: (...squares: number[]) => squares.reduce((a, b) => a + b, 0), args: workers, backend: 'threads' });
// a branch whose root fails: its dependent never runs and ends FAILED with a DependencyError
const broken = new ComputeTask({ uid: 'broken', executable: '/bin/sh', arguments: ['-c', 'exit 3'], backend: 'hpc_cluster' });
const orphan = new ComputeTask({ uid: 'orphan', function: (x: string) => x, args: [broken], backend: 'threads' });
const graph = [reducer, ...workers, source, broken, orphan]; // any order
await session.submitTasks(graph);
// wait mode 2: session.waitTasks never throws for a task failure; read the states
await session.waitTasks(graph, { timeout: 60_000 });
console.log(`fan-out/fan-in: sum of squares 1..${N} = ${reducer.returnValue} (${workers.filter((w) => w.state === 'DONE').length} workers DONE)`);
console.log(`dependent of a failed task: ${orphan.state}, ${orphan.exception?.name}: ${orphan.exception?.message}`);
