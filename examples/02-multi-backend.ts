// Multiple execution backends with explicit and implicit routing (user's guide: "Multiple Execution
// Backends", "Implicit Routing"). The guide's second backend is Dragon; here HpcExecutionBackend (its
// role: process groups on local, SLURM or MPI launchers) plays "hpc_gpu".
// Run: npx tsx examples/02-multi-backend.ts [--launcher local|slurm|mpi]
import { ComputeTask, ConcurrentExecutionBackend, HpcExecutionBackend, Session } from 'rhapsody';
import { hpcOptions } from './hpc-options.js';

async function computeFunction(): Promise<string> {
  const { hostname } = await import('node:os');
  const line = `Running on host: ${hostname()}`;
  console.log(line);
  return line;
}

const [beLocal, beRemote] = await Promise.all([ConcurrentExecutionBackend.create({ name: 'local_cpu', executor: 'threads' }), HpcExecutionBackend.create(hpcOptions('hpc_gpu'))]);

await using session = new Session({ backends: [beLocal, beRemote] });
// route explicitly by backend name
const task1 = new ComputeTask({ function: computeFunction, backend: beLocal.name });
const task2 = new ComputeTask({ function: computeFunction, backend: beRemote.name });
// implicit routing: no backend → the first compatible one (local_cpu)
const task3 = new ComputeTask({ executable: '/bin/echo', arguments: ['routed implicitly'] });

await session.submitTasks([task1, task2, task3]);
await Promise.all([task1, task2, task3]);
// a thread shares our stdout; an HPC process's output is kept with its task
process.stdout.write(task2.stdout ?? '');

console.log(`Task 1 ran on: ${task1.backend}`);
console.log(`Task 2 ran on: ${task2.backend}`);
console.log(`Task 3 ran on: ${task3.backend}`);
const stats = session.getStatistics();
console.log(`DONE: ${stats.counts.DONE}, avg total latency: ${stats.summary.avgTotal?.toFixed(1)} ms`);
