// Task graph micro-benchmark: a 10,000-task graph (a 1,000-long chain, and a fan-out of 8,998 from one
// root with a fan-in to one sink) through batch validation and the DependencyTracker. Reports µs per
// edge (median of 5) and the live heap after GC while the graph is held and after it has settled.
import { ComputeTask } from '../src/index.js';
import { DependencyTracker } from '../src/graph/dependency-tracker.js';
import { validateBatch } from '../src/graph/validate-batch.js';
import { dependenciesOf } from '../src/graph/dependencies.js';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
const heap = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

function buildGraph(): ComputeTask[] {
  const f = (x: unknown) => x;
  const tasks: ComputeTask[] = [];
  for (let i = 0; i < 1000; i++) tasks.push(new ComputeTask({ uid: `chain.${i}`, function: f, args: i ? [tasks[i - 1]] : [] }));
  const root = new ComputeTask({ uid: 'fan.root', function: f });
  const mids: ComputeTask[] = [];
  for (let i = 0; i < 8998; i++) mids.push(new ComputeTask({ uid: `fan.${i}`, function: f, args: [root] }));
  const sink = new ComputeTask({ uid: 'fan.sink', function: f, dependsOn: mids });
  return [...tasks, root, ...mids, sink]; // topological order
}

export function graphBench(): Record<string, number> {
  const tasks = buildGraph();
  const session = {};
  const deps = validateBatch(tasks, session, () => null);
  const edges = deps.reduce((n, d) => n + d.length, 0);
  const refs = tasks.map((t) => ({ uid: t.uid, state: 'SUBMITTED' as const, exception: null }));
  const index = new Map<unknown, number>(tasks.map((t, i) => [t, i]));
  const depRefs = deps.map((d) => d.map((t) => refs[index.get(t)!]!));

  const validate: number[] = [];
  const extract: number[] = [];
  const done: number[] = [];
  const failed: number[] = [];
  let heapHeld = 0;
  let heapSettled = 0;
  for (let round = 0; round < 5; round++) {
    let t0 = performance.now();
    for (const t of tasks) dependenciesOf(t);
    extract.push(((performance.now() - t0) * 1000) / edges);
    t0 = performance.now();
    validateBatch(tasks, session, () => null);
    validate.push(((performance.now() - t0) * 1000) / edges);

    // all DONE in topological order: add every task, then settle each, releasing its dependents
    const before = heap();
    let tracker = new DependencyTracker();
    t0 = performance.now();
    for (let i = 0; i < tasks.length; i++) if (depRefs[i]!.length) tracker.add(refs[i]!.uid, depRefs[i]!);
    const tAdd = performance.now() - t0;
    const held = heap() - before;
    t0 = performance.now();
    let ready = 0;
    for (const r of refs) ready += tracker.settled(r.uid, 'DONE', null).length;
    done.push(((tAdd + performance.now() - t0) * 1000) / edges);
    if (ready !== tasks.length - 2 || tracker.size !== 0 || tracker.edges !== 0) throw new Error(`graph did not settle: ${ready} ready, ${tracker.size} held`);
    heapHeld = Math.max(heapHeld, held);
    heapSettled = heap() - before;

    // failure at both roots: every other task fails transitively
    tracker = new DependencyTracker();
    for (let i = 0; i < tasks.length; i++) if (depRefs[i]!.length) tracker.add(refs[i]!.uid, depRefs[i]!);
    t0 = performance.now();
    const n = tracker.settled('chain.0', 'FAILED', new Error('root')).length + tracker.settled('fan.root', 'FAILED', new Error('root')).length;
    failed.push(((performance.now() - t0) * 1000) / edges);
    if (n !== tasks.length - 2) throw new Error(`failure reached ${n} tasks`);
  }
  return {
    tasks: tasks.length,
    edges,
    value: median(done),
    extractUsPerEdge: median(extract),
    validateUsPerEdge: median(validate),
    failUsPerEdge: median(failed),
    heapHeldKiB: heapHeld / 1024,
    bytesPerEdge: heapHeld / edges,
    heapAfterSettledKiB: heapSettled / 1024,
  };
}
