// "HPC Workloads with Dragon", "Single-Process Template" and "Multi-Process (Parallel Job) Templates".
// Run: npx tsx examples/03-hpc-process-groups.ts [--launcher local|slurm|mpi]
import { ComputeTask, HpcExecutionBackend, Session } from 'rhapsody';
import { hpcOptions } from './hpc-options.js';

async function myFunction(): Promise<string> {
  return `rank ${process.env.RHAPSODY_RANK} of ${process.env.RHAPSODY_WORLD_SIZE} on ${process.env.RHAPSODY_HOSTNAME}`;
}

const hpc = await HpcExecutionBackend.create(hpcOptions('dragon_hpc'));
await using session = new Session({ backends: [hpc] });

// 16 plain executables
const tasks = Array.from({ length: 16 }, () => new ComputeTask({ executable: 'hostname', backend: hpc.name }));
await session.submitTasks(tasks);
await Promise.all(tasks);
for (const t of tasks) console.log(`Task ${t.uid} finished on ${hpc.launcherKind}: ${t.stdout!.trim()}`);

// single-process templates: an executable and a function
const single = [
  new ComputeTask({ executable: '/bin/bash', arguments: ['-c', 'echo $RHAPSODY_HOSTNAME'], taskBackendSpecificKwargs: { processTemplate: {} } }),
  new ComputeTask({ function: myFunction, taskBackendSpecificKwargs: { processTemplate: {} } }),
];
// parallel jobs: 2 groups of 2 processes each (4 ranks)
const parallel = [
  new ComputeTask({
    executable: '/bin/bash',
    arguments: ['-c', 'echo $RHAPSODY_RANK@$RHAPSODY_HOSTNAME'],
    taskBackendSpecificKwargs: {
      processTemplates: [
        [2, {}],
        [2, {}],
      ],
    },
  }),
  new ComputeTask({
    function: myFunction,
    taskBackendSpecificKwargs: {
      processTemplates: [
        [2, {}],
        [2, {}],
      ],
    },
  }),
];
await session.submitTasks([...single, ...parallel]);
await Promise.all([...single, ...parallel]);
console.log(`single executable: ${single[0]!.stdout!.trim()}`);
console.log(`single function: ${single[1]!.returnValue}`);
console.log(`parallel executable ranks: ${parallel[0]!.stdout!.trim().split('\n').join(' | ')}`);
console.log(`parallel function: ${JSON.stringify(parallel[1]!.returnValue)}`);
