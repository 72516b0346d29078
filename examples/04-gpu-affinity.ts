// "GPU Affinity with Policies": find_gpus / make_policies, round-robin GPU pinning across nodes.
// Run: npx tsx examples/04-gpu-affinity.ts [--launcher local|slurm|mpi]
import { ComputeTask, HpcExecutionBackend, Policy, Session, System, type NodeInfo } from 'rhapsody';
import { hpcOptions } from './hpc-options.js';

function findGpus(nodes: NodeInfo[]): Array<[string, number]> {
  const allGpus: Array<[string, number]> = [];
  for (const node of nodes) for (const gpuId of node.gpus) allGpus.push([node.hostname, gpuId]);
  return allGpus;
}

/** Per-process policies with round-robin GPU assignment. */
function makePolicies(allGpus: Array<[string, number]>, nprocs = 32): Policy[] {
  const policies: Policy[] = [];
  let i = 0;
  for (let worker = 0; worker < nprocs; worker++) {
    policies.push(new Policy({ placement: Policy.Placement.HOST_NAME, hostName: allGpus[i]![0], gpuAffinity: [allGpus[i]![1]] }));
    i = (i + 1) % allGpus.length;
  }
  return policies;
}

const backend = await HpcExecutionBackend.create(hpcOptions());
await using session = new Session({ backends: [backend] });

const { nodes } = await System.discover(backend);
const allGpus = findGpus(nodes); // e.g. [["node-0", 0], ["node-0", 1], ["node-1", 0], ...]
const policies = makePolicies(allGpus, 4);

async function gpuWork(): Promise<string> {
  return `${process.env.RHAPSODY_HOSTNAME} CUDA_VISIBLE_DEVICES=${process.env.CUDA_VISIBLE_DEVICES}`;
}

// single-process task pinned to one GPU
const taskSingle = new ComputeTask({ function: gpuWork, taskBackendSpecificKwargs: { processTemplate: { policy: policies[0] } } });
// parallel job: 4 processes in two groups, each group with its own GPU policy
const taskParallel = new ComputeTask({
  function: gpuWork,
  taskBackendSpecificKwargs: {
    processTemplates: [
      [2, { policy: policies[0] }],
      [2, { policy: policies[1] }],
    ],
  },
});

await session.submitTasks([taskSingle, taskParallel]);
await Promise.all([taskSingle, taskParallel]);
for (const t of [taskSingle, taskParallel]) console.log(`Task ${t.uid}: ${t.state} (output: ${JSON.stringify(t.returnValue)})`);
