// "Dask Distributed Backend" in TypeScript on a real Dask cluster: the three task kinds (a sync
// function, an async function, an executable) on the default LocalCluster, plus a Python callable
// by reference and a GPU-constrained task. Needs Python with dask.distributed
// (`apt-get install python3-distributed` or `pip install distributed`).
// Run: npx tsx examples/09-dask.ts [--address tcp://scheduler:8786]
import { parseArgs } from 'node:util';
import { ComputeTask, DaskExecutionBackend, Session } from 'rhapsody';

// Sync function: shipped as source text, run by `node` on a Dask worker
function computeSquare(n: number): number {
  return n * n;
}

// Async function: awaited on the worker
async function fetchData(n: number): Promise<number> {
  await new Promise((r) => setTimeout(r, 10));
  return n * 2;
}

const { values } = parseArgs({ options: { address: { type: 'string' } } });
// no cluster given: a LocalCluster from `resources` (one worker declares a GPU), closed on exit
const backend = await DaskExecutionBackend.create(values.address ? { address: values.address } : { resources: { nWorkers: 2, workerResources: [{ GPU: 1 }, {}] } });

await using session = new Session({ backends: [backend] });
const tasks: ComputeTask[] = [];
for (let i = 0; i < 3; i++) {
  tasks.push(
    new ComputeTask({ function: computeSquare, args: [i] }), // sync fn
    new ComputeTask({ function: fetchData, args: [i] }), // async fn
    new ComputeTask({ executable: '/bin/echo', arguments: [`${i}`] }), // executable
  );
}
// a Python callable by reference, run natively on the worker
tasks.push(new ComputeTask({ function: { python: 'math:hypot' }, args: [3, 4] }));
// resource constraints: only the worker that declares a GPU runs this one
tasks.push(new ComputeTask({ function: computeSquare, args: [12], taskBackendSpecificKwargs: { resources: { GPU: 1 } } }));

await session.submitTasks(tasks);
await session.waitTasks(tasks);
for (const t of tasks) {
  const result = t.function ? t.returnValue : t.stdout?.trim();
  console.log(`${t.uid}: ${t.state} -> ${result}`);
}
