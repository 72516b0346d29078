// The demo: a mixed workload on embedded defaults (no external service) — functions on threads and
// processes, executables, and AI inference on the embedded engine (a tiny model generated here) —
// with a live progress line and a summary table.
// Run: npm run demo   (installs the embedded engine, then: npx tsx examples/demo.ts)
import { AITask, ComputeTask, ConcurrentExecutionBackend, Session, watchBackend, watchProgress } from 'rhapsody';
import { writeTinyModel } from 'rhapsody/testing';
import { LlamaCppInferenceBackend } from 'rhapsody/inference/llama';

function monteCarloPi(samples: number): number {
  let hits = 0;
  for (let i = 0; i < samples; i++) {
    const x = Math.random();
    const y = Math.random();
    if (x * x + y * y < 1) hits++;
  }
  return (4 * hits) / samples;
}

async function simulatedIo(ms: number): Promise<number> {
  const { setTimeout: wait } = await import('node:timers/promises');
  await wait(ms);
  return ms;
}

const modelPath = writeTinyModel().path;
const llm = new LlamaCppInferenceBackend({ name: 'llm', modelPath, parallel: 8 });
const talk = watchBackend(llm); // on stderr: "llm: loading …", "llm | loaded tiny: 8 sequences"
const [threads, processes] = await Promise.all([
  ConcurrentExecutionBackend.create({ name: 'threads', executor: 'threads' }),
  ConcurrentExecutionBackend.create({ name: 'processes', executor: 'processes' }),
  llm.start(),
]);
talk.stop();
await using session = new Session({ backends: [threads, processes, llm] });

const tasks = [
  ...Array.from({ length: 20_000 }, (_, i) => new ComputeTask({ function: (x: number) => x * x, args: [i] })),
  ...Array.from({ length: 200 }, () => new ComputeTask({ function: monteCarloPi, args: [200_000] })),
  ...Array.from({ length: 500 }, (_, i) => new ComputeTask({ function: simulatedIo, args: [5 + (i % 50)], backend: 'processes' })),
  ...Array.from({ length: 300 }, (_, i) => new ComputeTask({ executable: '/bin/echo', arguments: [`step ${i}`] })),
  new ComputeTask({ uid: 'expected-failure', executable: '/bin/sh', arguments: ['-c', 'exit 3'] }),
  // AITasks go to the first inference backend
  ...Array.from({ length: 64 }, (_, i) => new AITask({ prompt: `Summarize step ${i}`, model: 'tiny', maxTokens: 12 })),
];

const started = performance.now();
const progress = watchProgress(session);
await session.submitTasks(tasks);
await session.waitTasks(tasks);
progress.stop();
const seconds = (performance.now() - started) / 1000;

const kinds = new Map<string, { n: number; done: number; failed: number }>();
for (const t of tasks) {
  const key = `${t.backend}/${t instanceof AITask ? 'inference' : t.executable ? 'executable' : 'function'}`;
  const row = kinds.get(key) ?? { n: 0, done: 0, failed: 0 };
  row.n++;
  if (t.state === 'DONE') row.done++;
  else row.failed++;
  kinds.set(key, row);
}
const pis = tasks.filter((t) => t instanceof ComputeTask && t.function === monteCarloPi).map((t) => t.returnValue as number);
const answer = tasks.find((t): t is AITask => t instanceof AITask)!.response;
const stats = session.getStatistics();
console.log(`\n${tasks.length} tasks in ${seconds.toFixed(2)} s (${Math.round(tasks.length / seconds)} tasks/s)`);
console.table([...kinds].map(([kind, r]) => ({ kind, tasks: r.n, done: r.done, failed: r.failed })));
console.table({
  counts: stats.counts,
});
console.log(`avg latency: total ${stats.summary.avgTotal?.toFixed(1)} ms, queue ${stats.summary.avgQueue?.toFixed(1)} ms, execution ${stats.summary.avgExecution?.toFixed(1)} ms`);
console.log(`pi ≈ ${(pis.reduce((a, b) => a + b, 0) / pis.length).toFixed(4)} (mean of ${pis.length} Monte Carlo tasks)`);
console.log(`AI summary (tiny model, greedy): ${answer}`);
