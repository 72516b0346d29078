// "Full Heterogeneous Workload Example": native functions, single-process tasks and parallel jobs.
// Run: npx tsx examples/05-heterogeneous.ts [--launcher local|slurm|mpi]
import { ComputeTask, HpcExecutionBackend, Session } from 'rhapsody';
import { hpcOptions } from './hpc-options.js';

async function singleFunction(): Promise<string> {
  return (await import('node:os')).hostname();
}
async function parallelFunction(): Promise<string> {
  return `${(await import('node:os')).hostname()}#${process.env.RHAPSODY_RANK}`;
}
async function nativeFunction(): Promise<string> {
  return (await import('node:os')).hostname();
}

const backend = await HpcExecutionBackend.create(hpcOptions());
await using session = new Session({ backends: [backend] });

const tasks = [
  // native function (no backend-specific config)
  new ComputeTask({ function: nativeFunction }),
  // single-process executable
  new ComputeTask({ executable: '/bin/bash', arguments: ['-c', 'echo $HOSTNAME'], taskBackendSpecificKwargs: { processTemplate: {} } }),
  // parallel job executable (2+2 processes)
  new ComputeTask({
    executable: '/bin/bash',
    arguments: ['-c', 'echo $HOSTNAME'],
    taskBackendSpecificKwargs: {
      processTemplates: [
        [2, {}],
        [2, {}],
      ],
    },
  }),
  // single-process function
  new ComputeTask({ function: singleFunction, taskBackendSpecificKwargs: { processTemplate: {} } }),
  // parallel job function (2+2 processes)
  new ComputeTask({
    function: parallelFunction,
    taskBackendSpecificKwargs: {
      processTemplates: [
        [2, {}],
        [2, {}],
      ],
    },
  }),
];

const futures = await session.submitTasks(tasks);
await Promise.all(futures);
for (const t of tasks) {
  const result = t.function ? t.returnValue : t.stdout?.trim().replace(/\n/g, ' ');
  console.log(`Task ${t.uid}: ${t.state} (output: ${JSON.stringify(result)})`);
}
