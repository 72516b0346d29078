// Sync and async callables (user's guide: "Sync and Async Callable Tasks", "Executor dispatch").
// Run: npx tsx examples/01-callables.ts [threads|processes|inline]
import { ComputeTask, ConcurrentExecutionBackend, Session, type Executor } from 'rhapsody';

// Synchronous function: shipped to the worker as source text (with any variables it captures).
function computePi(nSamples: number): number {
  let hits = 0;
  for (let i = 0; i < nSamples; i++) {
    const x = Math.random();
    const y = Math.random();
    if (x * x + y * y < 1) hits++;
  }
  return (4 * hits) / nSamples;
}

// Async function: imports what it needs inside; runs on the worker's own event loop.
async function fetchResult(url: string): Promise<string> {
  const { createServer } = await import('node:http');
  // a local server stands in for https://example.com (no network needed)
  const server = createServer((_req, res) => res.end('<html>hello</html>'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  try {
    const res = await fetch(url.replace('PORT', String(port)));
    return await res.text();
  } finally {
    server.close();
  }
}

const executor = (process.argv[2] ?? 'threads') as Executor;
const backend = await ConcurrentExecutionBackend.create({ executor });
await using session = new Session({ backends: [backend] });
const tasks = [new ComputeTask({ function: computePi, args: [1_000_000] }), new ComputeTask({ function: fetchResult, args: ['http://127.0.0.1:PORT/'] })];
const futures = await session.submitTasks(tasks);
await Promise.all(futures);

console.log(`executor: ${executor}`);
console.log(tasks[0]!.returnValue); // ~3.1415…
console.log(tasks[1]!.returnValue); // HTML string
