// One benchmark case per process (so heap size and JIT state do not leak between cases).
// Usage: tsx bench/cases.ts <case>   → prints one JSON line { case, value, unit, ... }
import { spawn } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createActor } from 'xstate';
import { ComputeTask, ConcurrentExecutionBackend, DistributedExecutionBackend, HpcExecutionBackend, Session, taskMachine, type Executor } from '../src/index.js';
import { runOf } from '../src/task-base.js';

const out = (o: Record<string, unknown>) => console.log(JSON.stringify(o));
// RHAPSODY_BENCH_SPAWNS=300 shortens the spawn cases (1,000 processes, 500 HPC jobs, 200 sequential) on a busy machine
const SPAWNS = Number(process.env.RHAPSODY_BENCH_SPAWNS ?? 1000);
const trivial = (x: number) => x + 1;

/** Holds ~`mb` MiB of live, pointer-rich heap (what makes fork copy page tables). */
function holdHeap(mb: number): unknown[] {
  const hold: unknown[] = [];
  for (let i = 0; i < mb; i++) {
    const a = new Array(1024 * 16);
    for (let j = 0; j < a.length; j++) a[j] = { j, s: `x${j}` };
    hold.push(a);
  }
  return hold;
}

async function functionTasks(executor: Executor, n: number, inspect = false, telemetry?: 'events' | 'checkpoint'): Promise<number> {
  const backend = await ConcurrentExecutionBackend.create({ executor });
  const session = new Session({ backends: [backend], inspect: inspect ? () => undefined : undefined });
  if (telemetry) {
    await session.startTelemetry(telemetry === 'checkpoint' ? { checkpointPath: join(tmpdir(), `rhapsody-bench-${process.pid}.jsonl`) } : {});
    session.state$.subscribe({ complete: () => rmSync(join(tmpdir(), `rhapsody-bench-${process.pid}.jsonl`), { force: true }) });
  }
  // warm-up
  const warm = Array.from({ length: 2000 }, (_, i) => new ComputeTask({ function: trivial, args: [i] }));
  await session.submitTasks(warm);
  await session.waitTasks(warm);
  const t0 = performance.now();
  const tasks = Array.from({ length: n }, (_, i) => new ComputeTask({ function: trivial, args: [i] }));
  await session.submitTasks(tasks);
  await session.waitTasks(tasks);
  const rate = n / ((performance.now() - t0) / 1000);
  if (tasks.some((t) => t.state !== 'DONE')) throw new Error('a task failed');
  await session.close();
  return rate;
}

async function executables(n: number, heapMb: number, spawner: 'native' | 'node' = 'native'): Promise<number> {
  const hold = holdHeap(heapMb);
  const backend = await ConcurrentExecutionBackend.create({ executor: 'inline', spawner });
  const session = new Session({ backends: [backend] });
  const warm = Array.from({ length: 50 }, () => new ComputeTask({ executable: '/bin/true' }));
  await session.submitTasks(warm);
  await session.waitTasks(warm);
  const t0 = performance.now();
  const tasks = Array.from({ length: n }, () => new ComputeTask({ executable: '/bin/true' }));
  await session.submitTasks(tasks);
  await session.waitTasks(tasks);
  const rate = n / ((performance.now() - t0) / 1000);
  if (tasks.some((t) => t.state !== 'DONE')) throw new Error('a task failed');
  await session.close();
  void hold.length;
  return rate;
}

/** A sequential pipeline of /bin/true (each awaited before the next is submitted): p50/p99 in µs. */
async function sequentialExecutables(n: number, spawner: 'native' | 'node'): Promise<Record<string, number>> {
  const backend = await ConcurrentExecutionBackend.create({ executor: 'inline', spawner });
  const session = new Session({ backends: [backend] });
  const lat: number[] = [];
  for (let i = 0; i < n + 20; i++) {
    const t0 = performance.now();
    const [f] = await session.submitTasks([new ComputeTask({ executable: '/bin/true' })]);
    await f;
    if (i >= 20) lat.push((performance.now() - t0) * 1000);
  }
  await session.close();
  return { value: percentile(lat, 50), p99: percentile(lat, 99) };
}

/** The C floor: bench/spawn-floor.c (posix_spawn, 8 in flight, output on pipes), compiled now. */
async function cSpawn(n: number): Promise<number> {
  const { execFileSync } = await import('node:child_process');
  const bin = join(tmpdir(), `rhapsody-spawn-floor-${process.pid}`);
  execFileSync(process.env.CC || 'cc', ['-O2', '-o', bin, new URL('./spawn-floor.c', import.meta.url).pathname]);
  try {
    return JSON.parse(execFileSync(bin, [String(n)], { encoding: 'utf8' })).value;
  } finally {
    rmSync(bin, { force: true });
  }
}

async function rawSpawn(n: number, heapMb: number, concurrency = 8): Promise<number> {
  const hold = holdHeap(heapMb);
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const c = spawn('/bin/true', [], { stdio: ['ignore', 'pipe', 'pipe'] });
      c.on('error', reject);
      c.on('close', () => resolve());
    });
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < n) await one();
    }),
  );
  void hold.length;
  return n / ((performance.now() - t0) / 1000);
}

/** Floor for threads: raw postMessage batches (256 jobs) to 2 workers, no runtime. */
async function rawWorkers(n: number): Promise<number> {
  const src = `const { parentPort } = require('node:worker_threads');
    const f = (x) => x + 1;
    parentPort.on('message', (jobs) => parentPort.postMessage(jobs.map((j) => ({ id: j.id, v: f(...j.args) }))));`;
  const workers = [new Worker(src, { eval: true }), new Worker(src, { eval: true })];
  const t0 = performance.now();
  let done = 0;
  await new Promise<void>((resolve) => {
    for (const w of workers)
      w.on('message', (r: unknown[]) => {
        done += r.length;
        if (done === n) resolve();
      });
    for (let i = 0; i < n; i += 256) {
      const jobs = [];
      for (let j = i; j < Math.min(n, i + 256); j++) jobs.push({ id: j, args: [j] });
      workers[(i / 256) % 2]!.postMessage(jobs);
    }
  });
  const rate = n / ((performance.now() - t0) / 1000);
  await Promise.all(workers.map((w) => w.terminate()));
  return rate;
}

/** Floor for inline: a plain loop calling the function, one promise per task. */
async function rawInline(n: number): Promise<number> {
  const t0 = performance.now();
  const ps = new Array(n);
  for (let i = 0; i < n; i++) ps[i] = Promise.resolve(trivial(i));
  await Promise.all(ps);
  return n / ((performance.now() - t0) / 1000);
}

/** Per-task cost of the lifecycle: a naive XState actor per task vs the session's path. */
function naiveActors(n: number): { usPerTask: number; bytesPerTask: number } {
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed;
  const keep = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const a = createActor(taskMachine, { input: { uid: `t${i}` } }).start();
    a.send({ type: 'SUBMIT', backend: 'b' });
    a.send({ type: 'QUEUE' });
    a.send({ type: 'START' });
    keep.push(a);
  }
  const us = ((performance.now() - t0) * 1000) / n;
  const bytes = (process.memoryUsage().heapUsed - before) / n;
  for (const a of keep) {
    a.send({ type: 'COMPLETE', returnValue: 1 });
  }
  return { usPerTask: us, bytesPerTask: bytes };
}

function heapAfterGc(): number {
  globalThis.gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

/** 1,000,000 tasks in batches of 10,000, dropped by the caller: peak RSS at 100k and 1M. */
async function memory(total: number): Promise<Record<string, number>> {
  const backend = await ConcurrentExecutionBackend.create({ executor: 'inline' });
  const session = new Session({ backends: [backend] });
  let peak = 0;
  const sample = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const marks: Record<string, number> = {};
  const t0 = performance.now();
  for (let done = 0; done < total; done += 10_000) {
    const batch = Array.from({ length: 10_000 }, (_, i) => new ComputeTask({ function: trivial, args: [i] }));
    await session.submitTasks(batch);
    await session.waitTasks(batch);
    peak = Math.max(peak, process.memoryUsage().rss);
    if (done + 10_000 === 100_000) {
      marks.peakRssAt100kMiB = peak / 2 ** 20;
      marks.heapAt100kMiB = heapAfterGc();
    }
  }
  marks.peakRssAt1MMiB = peak / 2 ** 20;
  marks.heapAt1MMiB = heapAfterGc();
  marks.tasksPerSecond = total / ((performance.now() - t0) / 1000);
  marks.done = session.getStatistics().counts.DONE;
  clearInterval(sample);
  await session.close();
  return marks;
}

/** ~10,000 telemetry events/s for `seconds` into a checkpoint: live heap after GC over time. */
async function sustainedTelemetry(seconds: number): Promise<Record<string, number>> {
  const path = join(tmpdir(), `rhapsody-sustained-${process.pid}.jsonl`);
  const session = new Session({ backends: [await ConcurrentExecutionBackend.create({ executor: 'inline' })] });
  const telemetry = await session.startTelemetry({ checkpointPath: path, resourcePollInterval: 100 });
  const heaps: number[] = [];
  const t0 = performance.now();
  let tasks = 0;
  for (let tick = 0; performance.now() - t0 < seconds * 1000; tick++) {
    // 5 lifecycle events per task: 200 tasks per 100 ms ≈ 10,000 events/s
    const batch = Array.from({ length: 200 }, (_, i) => new ComputeTask({ function: trivial, args: [i] }));
    tasks += batch.length;
    await session.submitTasks(batch);
    await session.waitTasks(batch);
    if (tick % 10 === 9) heaps.push(heapAfterGc());
    const next = t0 + (tick + 1) * 100;
    await new Promise((r) => setTimeout(r, Math.max(0, next - performance.now())));
  }
  const events = telemetry.summary().events;
  const elapsed = (performance.now() - t0) / 1000;
  await session.close();
  const bytes = statSync(path).size;
  rmSync(path, { force: true });
  return {
    eventsPerSecond: events / elapsed,
    heapFirstMiB: heaps[0] ?? NaN,
    heapLastMiB: heaps.at(-1) ?? NaN,
    heapMaxMiB: Math.max(...heaps),
    checkpointMiB: bytes / 2 ** 20,
    tasks,
  };
}

/** Telemetry off / events / events+checkpoint, alternated in one process; medians of 3 each. */
async function telemetryAB(): Promise<Record<string, number>> {
  const runs: Record<string, number[]> = { off: [], events: [], checkpoint: [] };
  const modes = ['off', 'events', 'checkpoint'] as const;
  for (let round = 0; round < 3; round++) {
    // rotate the order so that no mode always runs on a fresher heap
    for (let k = 0; k < 3; k++) {
      const mode = modes[(round + k) % 3]!;
      runs[mode]!.push(await functionTasks('inline', 100_000, false, mode === 'off' ? undefined : mode));
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[1]!;
  return { off: median(runs.off!), events: median(runs.events!), checkpoint: median(runs.checkpoint!) };
}

/** 500 two-rank jobs of /bin/true on the local launcher: ms per rank. */
async function hpcLocal(jobs: number, spawner: 'native' | 'node' = 'native'): Promise<number> {
  const hpc = await HpcExecutionBackend.create({ nodes: [{ hostname: 'bench', cpus: 2, gpus: [] }], spawner });
  const session = new Session({ backends: [hpc] });
  const make = (n: number) => Array.from({ length: n }, () => new ComputeTask({ executable: '/bin/true', taskBackendSpecificKwargs: { processTemplates: [[2, {}]] } }));
  const warm = make(20);
  await session.submitTasks(warm);
  await session.waitTasks(warm);
  const tasks = make(jobs);
  const t0 = performance.now();
  await session.submitTasks(tasks);
  await session.waitTasks(tasks);
  const ms = performance.now() - t0;
  if (tasks.some((t) => t.state !== 'DONE')) throw new Error('a job failed');
  await session.close();
  return ms / (jobs * 2);
}

/** 100 single-rank srun steps inside the current allocation (run under salloc): ms per step. */
async function hpcSlurm(steps: number): Promise<number> {
  if (!process.env.SLURM_JOB_ID) throw new Error('run inside an allocation (salloc)');
  const hpc = await HpcExecutionBackend.create({ launcher: 'slurm' });
  const session = new Session({ backends: [hpc] });
  const tasks = Array.from({ length: steps }, () => new ComputeTask({ executable: '/bin/true', taskBackendSpecificKwargs: { processTemplate: {} } }));
  const t0 = performance.now();
  await session.submitTasks(tasks);
  await session.waitTasks(tasks);
  const ms = performance.now() - t0;
  const bad = tasks.find((t) => t.state !== 'DONE');
  if (bad) throw new Error(`a step failed: ${bad.exception?.message}`);
  await session.close();
  return ms / steps;
}

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;

/** 10,000 trivial functions over 2 local workers: tasks/s and latency percentiles. */
async function distributed(n: number): Promise<Record<string, number>> {
  const backend = await DistributedExecutionBackend.create({ resources: { nWorkers: 2, concurrency: 64 } });
  const session = new Session({ backends: [backend] });
  const warm = Array.from({ length: 200 }, (_, i) => new ComputeTask({ function: trivial, args: [i] }));
  await session.submitTasks(warm);
  await session.waitTasks(warm);
  const tasks = Array.from({ length: n }, (_, i) => new ComputeTask({ function: trivial, args: [i] }));
  const t0 = performance.now();
  await session.submitTasks(tasks);
  await session.waitTasks(tasks);
  const seconds = (performance.now() - t0) / 1000;
  if (tasks.some((t) => t.state !== 'DONE')) throw new Error('a task failed');
  const lat = tasks.map((t) => runOf(t)!.endedAt - runOf(t)!.submittedAt);
  await session.close();
  return { value: n / seconds, p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

/** The floor: a bare BullMQ producer (addBulk) and 2 bare worker processes on the same kind of Redis. */
async function bareBullmq(n: number): Promise<Record<string, number>> {
  const { fork } = await import('node:child_process');
  const { Queue, QueueEvents } = await import('bullmq');
  const { RedisServer } = await import('../actors/distributed/redis-server.js');
  const redis = await RedisServer.start();
  const name = 'bare';
  const connection = { url: redis.url, maxRetriesPerRequest: null };
  const workers = [0, 1].map(() => fork(new URL('./bullmq-worker.mjs', import.meta.url), [redis.url, name, '64'], { stdio: 'ignore' }));
  await Promise.all(workers.map((w) => new Promise((r) => w.once('message', r))));
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection });
  await events.waitUntilReady();
  const run = async (count: number) => {
    const started = new Map<string, number>();
    const lat: number[] = [];
    let done = 0;
    let finish!: () => void;
    const all = new Promise<void>((r) => (finish = r));
    const onDone = ({ jobId }: { jobId: string }) => {
      const s = started.get(jobId);
      if (s === undefined) return;
      lat.push(performance.now() - s);
      if (++done === count) finish();
    };
    events.on('completed', onDone);
    const t0 = performance.now();
    for (let i = 0; i < count; i += 1000) {
      const jobs = Array.from({ length: Math.min(1000, count - i) }, (_, j) => ({ name: 'x', data: { x: i + j }, opts: { jobId: `j${t0}-${i + j}`, removeOnComplete: true } }));
      const now = performance.now();
      for (const j of jobs) started.set(j.opts.jobId, now);
      await queue.addBulk(jobs);
    }
    await all;
    events.off('completed', onDone);
    return { seconds: (performance.now() - t0) / 1000, lat };
  };
  await run(200);
  const { seconds, lat } = await run(n);
  await events.close();
  await queue.close();
  for (const w of workers) w.disconnect();
  await new Promise((r) => setTimeout(r, 200));
  await redis.close();
  return { value: n / seconds, p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

/** Sequential pipeline: one trivial function at a time (await each), p50/p99 round trip in µs. */
async function sequential(executor: Executor, n: number): Promise<Record<string, number>> {
  const backend = await ConcurrentExecutionBackend.create({ executor, maxWorkers: 2 });
  const session = new Session({ backends: [backend] });
  const lat: number[] = [];
  for (let i = 0; i < n + 200; i++) {
    const t0 = performance.now();
    const [future] = await session.submitTasks([new ComputeTask({ function: trivial, args: [i] })]);
    await future;
    if (i >= 200) lat.push((performance.now() - t0) * 1000);
  }
  await session.close();
  return { value: percentile(lat, 50), p99: percentile(lat, 99) };
}

/** Closure discovery at submit: µs per fresh closure object (V8 inspector scope view + clone check). */
async function closureCost(n: number): Promise<Record<string, number>> {
  const { shipFunction } = await import('../src/internal/function-shipping.js');
  const factor = 3;
  const fresh = Array.from({ length: n }, (_, i) => (x: number) => trivial(x) * factor + i);
  const plain = Array.from({ length: n }, () => (x: number) => x + 1);
  let t0 = performance.now();
  for (const f of fresh) shipFunction(f);
  const captured = ((performance.now() - t0) * 1000) / n;
  t0 = performance.now();
  for (const f of plain) shipFunction(f);
  const none = ((performance.now() - t0) * 1000) / n;
  t0 = performance.now();
  for (const f of fresh) shipFunction(f);
  const cached = ((performance.now() - t0) * 1000) / n;
  return { value: captured, noCaptureUs: none, cachedUs: cached };
}

const name = process.argv[2];
switch (name) {
  case 'inline':
    out({ case: name, value: await functionTasks('inline', 100_000) });
    break;
  case 'inline-inspect':
    out({ case: name, value: await functionTasks('inline', 20_000, true) });
    break;
  case 'inline-20k':
    out({ case: name, value: await functionTasks('inline', 20_000) });
    break;
  case 'telemetry-ab':
    out({ case: name, ...(await telemetryAB()) });
    break;
  case 'telemetry-sustained':
    out({ case: name, ...(await sustainedTelemetry(10)) });
    break;
  case 'threads':
    out({ case: name, value: await functionTasks('threads', 100_000) });
    break;
  case 'raw-inline':
    out({ case: name, value: await rawInline(100_000) });
    break;
  case 'raw-workers':
    out({ case: name, value: await rawWorkers(100_000) });
    break;
  case 'exec':
    out({ case: name, value: await executables(SPAWNS, 0) });
    break;
  case 'exec-heap':
    out({ case: name, value: await executables(SPAWNS, 1024) });
    break;
  case 'exec-node':
    out({ case: name, value: await executables(SPAWNS, 0, 'node') });
    break;
  case 'exec-heap-node':
    out({ case: name, value: await executables(SPAWNS, 1024, 'node') });
    break;
  case 'exec-seq':
    out({ case: name, ...(await sequentialExecutables(Math.round(SPAWNS / 5), 'native')) });
    break;
  case 'exec-seq-node':
    out({ case: name, ...(await sequentialExecutables(Math.round(SPAWNS / 5), 'node')) });
    break;
  case 'c-spawn':
    out({ case: name, value: await cSpawn(SPAWNS) });
    break;
  case 'hpc-local-node':
    out({ case: name, value: await hpcLocal(Math.round(SPAWNS / 2), 'node') });
    break;
  case 'raw-spawn':
    out({ case: name, value: await rawSpawn(1000, 0) });
    break;
  case 'raw-spawn-heap':
    out({ case: name, value: await rawSpawn(300, 1024) });
    break;
  case 'distributed':
    out({ case: name, ...(await distributed(10_000)) });
    break;
  case 'bare-bullmq':
    out({ case: name, ...(await bareBullmq(10_000)) });
    break;
  case 'hpc-local':
    out({ case: name, value: await hpcLocal(Math.round(SPAWNS / 2)) });
    break;
  case 'raw-spawn-ms':
    out({ case: name, value: 1000 / (await rawSpawn(1000, 0)) });
    break;
  case 'hpc-slurm':
    out({ case: name, value: await hpcSlurm(100) });
    break;
  case 'naive-actor':
    out({ case: name, ...naiveActors(20_000) });
    break;
  case 'memory':
    out({ case: name, ...(await memory(1_000_000)) });
    break;
  case 'llm-embedded':
    out({ case: name, ...(await (await import('./inference.js')).embeddedVsDirect()) });
    break;
  case 'llm-http':
    out({ case: name, ...(await (await import('./inference.js')).httpVsFetch()) });
    break;
  case 'closure-cost':
    out({ case: name, ...(await closureCost(10_000)) });
    break;
  case 'seq-threads':
    out({ case: name, ...(await sequential('threads', 3000)) });
    break;
  case 'seq-processes':
    out({ case: name, ...(await sequential('processes', 3000)) });
    break;
  case 'seq-inline':
    out({ case: name, ...(await sequential('inline', 3000)) });
    break;
  case 'graph':
    out({ case: name, ...(await import('./graph.js')).graphBench() });
    break;
  case 'graph-inline':
  case 'graph-threads':
    out({ case: name, ...(await (await import('./graph-session.js')).graphSessionBench(name === 'graph-inline' ? 'inline' : 'threads')) });
    break;
  case 'graph-values':
    out({ case: name, ...(await (await import('./graph-values.js')).graphValuesBench()) });
    break;
  default:
    throw new Error(`unknown case ${name}`);
}
