// Task graph through a real session (bench/graph.ts is the pure core): a 10,000-task graph (a
// 1,000-long chain, and a fan-out of 8,998 from one root with a fan-in to one sink; 18,995 edges) of
// trivial functions submitted in ONE batch, beside 10,000 plain tasks (no dependencies) in the same
// process. Per shape, the median of ROUNDS:
// - per-edge overhead: (graph wall − plain wall) / edges, beside a plain task's µs;
// - the chain alone: µs per link, beside a sequential `await` loop of plain tasks (its floor: each
//   link must finish before the next can start);
// - the fan-out/fan-in alone: (wall − plain wall of as many tasks) / edges (throughput cost);
// - live heap after GC: before, right after submit (the graph held, waiting), after it settled with
//   the caller still holding the tasks, and after the caller dropped them (must be ≈ before).
// It throws if a task did not end DONE or the session still holds anything for a settled task.
import { ComputeTask, ConcurrentExecutionBackend, Session, type Executor } from '../src/index.js';

const ROUNDS = 3;
const f = (x: unknown) => x;
const gc = (globalThis as { gc?: () => void }).gc;
const heapMiB = () => {
  if (!gc) throw new Error('run with --expose-gc');
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

const chain = (n: number): ComputeTask[] => {
  const tasks: ComputeTask[] = [];
  for (let i = 0; i < n; i++) tasks.push(new ComputeTask({ function: f, args: i ? [tasks[i - 1]] : [i] }));
  return tasks;
};
const fan = (width: number): ComputeTask[] => {
  const root = new ComputeTask({ function: f, args: [0] });
  const mids = Array.from({ length: width }, () => new ComputeTask({ function: f, args: [root] }));
  return [root, ...mids, new ComputeTask({ function: f, dependsOn: mids })];
};
const plain = (n: number) => Array.from({ length: n }, (_, i) => new ComputeTask({ function: f, args: [i] }));
const edgesOf = (tasks: ComputeTask[]) => tasks.reduce((n, t) => n + t.dependsOn.length + t.args.filter((a) => a instanceof ComputeTask).length, 0);

/** Submits one batch and waits for it: wall ms (and the heap right after submit, if asked). */
async function timed(session: Session, tasks: ComputeTask[], heldHeap?: number[]): Promise<number> {
  const t0 = performance.now();
  await session.submitTasks(tasks);
  let gcMs = 0;
  if (heldHeap) {
    const g0 = performance.now();
    heldHeap.push(heapMiB());
    gcMs = performance.now() - g0; // the GC is not the graph's time
  }
  await session.waitTasks(tasks);
  const ms = performance.now() - t0 - gcMs;
  if (tasks.some((t) => t.state !== 'DONE')) throw new Error(`a task ended ${tasks.find((t) => t.state !== 'DONE')!.state}`);
  return ms;
}

/** Nothing left in the session for settled tasks: no live run, nothing in the graph. */
function checkEmpty(session: Session): void {
  const s = session as unknown as { runs: { size: number }; graph: { tracker: { size: number; edges: number }; held: Map<string, unknown> } };
  const left = { runs: s.runs.size, tracked: s.graph.tracker.size, edges: s.graph.tracker.edges, held: s.graph.held.size };
  if (Object.values(left).some((n) => n !== 0)) throw new Error(`the session still holds ${JSON.stringify(left)}`);
}

export async function graphSessionBench(executor: Executor): Promise<Record<string, number>> {
  const backend = await ConcurrentExecutionBackend.create({ executor });
  const session = new Session({ backends: [backend] });
  // warm-up: every path once
  for (const warm of [plain(2000), [...chain(200), ...fan(1800)]]) await timed(session, warm);
  for (let i = 0; i < 200; i++) await session.submitTasks([new ComputeTask({ function: f, args: [i] })]).then(([x]) => x);

  const r: Record<string, number[]> = { plain: [], graph: [], chainLink: [], seq: [], fanEdge: [], fanPlain: [], held: [], settled: [], dropped: [], before: [] };
  let edges = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const before = heapMiB();
    r.before!.push(before);
    const plainMs = await timed(session, plain(10_000));
    r.plain!.push((plainMs * 1000) / 10_000);

    // the 10,000-task graph in one batch
    let tasks: ComputeTask[] | null = [...chain(1000), ...fan(8998)];
    edges = edgesOf(tasks);
    const held: number[] = [];
    const graphMs = await timed(session, tasks, held);
    r.graph!.push(graphMs);
    r.held!.push(held[0]! - before);
    r.settled!.push(heapMiB() - before);
    if (tasks.length !== 10_000) throw new Error('lost tasks'); // keeps them live across the measurement
    checkEmpty(session);
    tasks = null; // the caller drops them
    r.dropped!.push(heapMiB() - before);

    // the chain alone vs a sequential await loop; the fan alone vs as many plain tasks
    r.chainLink!.push(((await timed(session, chain(1000))) * 1000) / 999);
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) await session.submitTasks([new ComputeTask({ function: f, args: [i] })]).then(([x]) => x);
    r.seq!.push(((performance.now() - t0) * 1000) / 1000);
    const fanPlainMs = await timed(session, plain(9000));
    const fanMs = await timed(session, fan(8998));
    r.fanPlain!.push((fanPlainMs * 1000) / 9000);
    r.fanEdge!.push(((fanMs - fanPlainMs) * 1000) / (2 * 8998));
  }
  await session.close();
  const m = (k: string) => median(r[k]!);
  return {
    tasks: 10_000,
    edges,
    plainUs: m('plain'),
    graphMs: m('graph'),
    value: median(r.graph!.map((g, i) => ((g - (r.plain![i]! * 10_000) / 1000) * 1000) / edges)), // µs per edge
    chainLinkUs: m('chainLink'),
    seqUs: m('seq'),
    fanEdgeUs: m('fanEdge'),
    fanPlainUs: m('fanPlain'),
    heapBeforeMiB: m('before'),
    heapHeldMiB: m('held'),
    heapSettledMiB: m('settled'),
    heapDroppedMiB: m('dropped'),
  };
}
