// "Dask Distributed Backend" in TypeScript: the same task code on a local cluster (default), an
// existing Redis with workers started elsewhere (--connection), or workers as SLURM steps (--slurm).
// Run: npx tsx examples/08-distributed.ts [--connection redis://host:6379] [--slurm]
import { parseArgs } from 'node:util';
import { ComputeTask, DistributedExecutionBackend, Session, SlurmCluster, watchBackend } from 'rhapsody';

function computeSquare(n: number): number {
  return n * n;
}

async function fetchData(n: number): Promise<number> {
  await new Promise((r) => setTimeout(r, 10));
  return n * 2;
}

const { values } = parseArgs({ options: { connection: { type: 'string' }, slurm: { type: 'boolean' } } });
const backend = new DistributedExecutionBackend(
  values.connection
    ? { connection: values.connection } // workers: npx rhapsody worker --connection … --prefix rhapsody-distributed
    : values.slurm
      ? { cluster: new SlurmCluster({ workers: [{ resources: 'GPU=1' }, { resources: 'CPU=4' }] }) }
      : { resources: { nWorkers: 2, workerResources: 'GPU=1,CPU=4' } },
);
// on stderr, while it starts: "distributed: waiting for workers: 1 of 2 registered (1 s of 30 s)", …
watchBackend(backend);
await backend.start();

await using session = new Session({ backends: [backend] });
const tasks: ComputeTask[] = [];
for (let i = 0; i < 3; i++) {
  tasks.push(
    new ComputeTask({ function: computeSquare, args: [i] }), // sync function
    new ComputeTask({ function: fetchData, args: [i] }), // async function
    new ComputeTask({ executable: '/bin/echo', arguments: [`${i}`] }), // executable
  );
}
// resource constraints: only a worker offering a GPU runs this one
tasks.push(new ComputeTask({ function: computeSquare, args: [12], taskBackendSpecificKwargs: { resources: { GPU: 1 } } }));

await session.submitTasks(tasks);
await session.waitTasks(tasks);
for (const t of tasks) {
  const result = t.function ? t.returnValue : t.stdout?.trim();
  console.log(`${t.uid}: ${t.state} -> ${result}`);
}
