// Multiple execution backends with explicit and implicit routing (user's guide: "Multiple Execution
// Backends", "Implicit Routing"). The guide's second backend is Dragon; here a second local backend
// running functions in child processes plays "hpc_gpu" (HpcExecutionBackend takes that role when
// it lands).
// Run: npx tsx examples/02-multi-backend.ts
import { ComputeTask, ConcurrentExecutionBackend, Session } from 'rhapsody';

async function computeFunction(): Promise<string> {
  const { hostname } = await import('node:os');
  const line = `Running on host: ${hostname()}`;
  console.log(line);
  return line;
}

const [beLocal, beRemote] = await Promise.all([
  ConcurrentExecutionBackend.create({ name: 'local_cpu', executor: 'threads' }),
  ConcurrentExecutionBackend.create({ name: 'hpc_gpu', executor: 'processes' }),
]);

await using session = new Session({ backends: [beLocal, beRemote] });
// route explicitly by backend name
const task1 = new ComputeTask({ function: computeFunction, backend: beLocal.name });
const task2 = new ComputeTask({ function: computeFunction, backend: beRemote.name });
// implicit routing: no backend → the first compatible one (local_cpu)
const task3 = new ComputeTask({ executable: '/bin/echo', arguments: ['routed implicitly'] });

await session.submitTasks([task1, task2, task3]);
await Promise.all([task1, task2, task3]);

console.log(`Task 1 ran on: ${task1.backend}`);
console.log(`Task 2 ran on: ${task2.backend}`);
console.log(`Task 3 ran on: ${task3.backend}`);
const stats = session.getStatistics();
console.log(`DONE: ${stats.counts.DONE}, avg total latency: ${stats.summary.avgTotal?.toFixed(1)} ms`);
