// The three wait modes of the user's guide ("Wait Modes"), in TypeScript.
// Run: npx tsx examples/00-wait-modes.ts
import { ComputeTask, ConcurrentExecutionBackend, Session, TaskExecutionError } from 'rhapsody';

function makeTasks() {
  return [
    new ComputeTask({ function: (n: number) => n * n, args: [12] }),
    new ComputeTask({ executable: '/bin/echo', arguments: ['hello from a process'] }),
    new ComputeTask({ executable: '/bin/sh', arguments: ['-c', 'echo "disk on fire" >&2; exit 2'] }),
    new ComputeTask({
      function: () => {
        throw new Error('function raised');
      },
    }),
  ];
}

const backend = await ConcurrentExecutionBackend.create();

// 1. session.waitTasks: collect all, inspect states (never throws on task failure)
{
  await using session = new Session({ backends: [backend] });
  const tasks = makeTasks();
  await session.submitTasks(tasks);
  await session.waitTasks(tasks, { timeout: 30_000 });
  console.log('== waitTasks');
  for (const t of tasks) {
    if (t.state === 'DONE') console.log(`${t.uid} DONE: ${String(t.returnValue ?? t.stdout).trim()}`);
    else console.log(`${t.uid} failed: ${t.exception?.message ?? t.stderr}`);
  }
}

// 2. Promise.all: fail fast; Promise.allSettled: collect and decide per result
{
  await using session = new Session({ backends: [await ConcurrentExecutionBackend.create()] });
  const tasks = makeTasks();
  const futures = await session.submitTasks(tasks);
  console.log('== Promise.all (fail fast)');
  try {
    await Promise.all(futures);
  } catch (e) {
    if (e instanceof TaskExecutionError) console.log(`Command failed: ${e.message}`);
    else console.log(`Function raised: ${(e as Error).message}`);
  }
  console.log('== Promise.allSettled (collect)');
  const results = await Promise.allSettled(futures);
  results.forEach((r, i) => {
    console.log(r.status === 'rejected' ? `${tasks[i]!.uid} → error: ${r.reason.message}` : `${tasks[i]!.uid} → ${JSON.stringify(tasks[i]!.returnValue ?? tasks[i]!.stdout)}`);
  });
}

// 3. await future / await task: one at a time, for pipelines
{
  await using session = new Session({ backends: [await ConcurrentExecutionBackend.create()] });
  const a = new ComputeTask({ function: () => 6 });
  const futures = await session.submitTasks([a]);
  const ra = await futures[0]!;
  const b = new ComputeTask({ function: (x: number) => x * 7, args: [ra.returnValue] });
  await session.submitTasks([b]);
  const rb = await b;
  console.log('== await future / await task');
  console.log(`pipeline result: ${rb.returnValue}`);
}
