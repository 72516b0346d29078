import { fork, type ChildProcess } from 'node:child_process';
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SHARE_ENV, Worker } from 'node:worker_threads';
import { BackendError, TaskExecutionError } from '../../src/errors.js';
import { shipFunction } from '../../src/internal/function-shipping.js';
import type { ModuleFunctionRef } from '../../src/task-types.js';
import { decodeError } from '../codec/wire-codec.mjs';
import type { Batch, FunctionDef, Job, JobResult } from './worker-runtime.mjs';
import { processGone } from '../process/process-spawner.js';
import { callArguments } from './execution-sink.js';
import { fromShared, shareArguments } from './shared-values.js';
import type { ComputeTaskSpec, TaskHandle } from '../../src/run/task-handle.js';
import { assetUrl } from '../assets.js';

type ComputeTask = TaskHandle<ComputeTaskSpec>;

interface Slot {
  handle: Worker | ChildProcess;
  /** posts one batch; throws when it cannot be serialized */
  send(batch: Batch): void;
  inFlight: Map<number, ComputeTask>;
  known: Set<number>;
  alive: boolean;
  /** running one suspect task alone */
  exclusive: boolean;
  lastError: string | null;
  exited: Promise<void>;
}

/** Per-task bookkeeping while a task is in the pool. */
interface PoolEntry {
  job: number;
  slot: Slot | null;
  timer: NodeJS.Timeout | null;
  suspect: boolean;
}

export type PoolMode = 'threads' | 'processes';

/** Most jobs one worker holds at once; batches are sized to spread the queue evenly below this. */
const MAX_WINDOW = 256;
/** Consecutive worker deaths with nothing completed in between before the pool gives up. */
const MAX_CRASH_STREAK = 8;

/**
 * A pool of worker threads or child Node processes running shipped functions. Jobs go out in
 * batches (one message per batch) and come back in batches (one message per batch of finished
 * jobs, pushed by the worker: no RPC layer, no long-poll, so a lone task costs one message each
 * way). Worker threads share the host's `process.env` (SHARE_ENV); worker processes see it as it
 * was when they started. A worker
 * that dies fails the one task it ran, or, when it held several, hands them back to run one at a
 * time so only the culprit fails. Timeouts and cancellation terminate the worker for real.
 */
export class WorkerPool {
  private readonly slots: Slot[] = [];
  private queue: ComputeTask[] = [];
  private head = 0;
  private suspects: ComputeTask[] = [];
  private pumpScheduled = false;
  private nextJob = 1;
  private nextFn = 1;
  private readonly fnIds = new WeakMap<object, number>();
  /** functions with captured values: one id per function object (the values may differ) */
  private readonly wireIds = new WeakMap<object, number>();
  /** one id per distinct source text, so a fresh closure object per task ships its source once */
  private readonly sourceIds = new Map<string, number>();
  private readonly moduleIds = new Map<string, number>();
  private readonly defs = new Map<number, FunctionDef>();
  private crashStreak = 0;
  private closed = false;

  constructor(private readonly options: { mode: PoolMode; size: number }) {}

  start(): void {
    for (let i = 0; i < this.options.size; i++) this.slots.push(this.spawnSlot());
  }

  get size(): number {
    return this.slots.length;
  }

  /** Tasks the pool takes at once (the backend's capacity for functions). */
  get capacity(): number {
    // a full window per worker, and as much again waiting here so a worker that returns its batch
    // gets the next one at once
    return 2 * this.options.size * MAX_WINDOW;
  }

  /** Runs a task; cancel (the handle's abort) stops it for real. */
  run(task: ComputeTask): void {
    const entry: PoolEntry = { job: 0, slot: null, timer: null, suspect: false };
    task.slot = entry;
    task.onAbort(this.onAbort);
    this.queue.push(task);
    this.schedulePump();
  }

  /** A task not yet sent is dropped; a running one loses its worker (innocents go back to the queue). */
  /** One listener for every task (no closure per task): the task's own entry says where it is. */
  private readonly onAbort = (task: ComputeTask): void => {
    const entry = task.slot as PoolEntry | undefined;
    if (entry) this.cancel(task, entry);
    else task.canceled();
  };

  private cancel(task: ComputeTask, entry: PoolEntry): void {
    const slot = entry.slot;
    if (slot) this.forget(task);
    task.canceled();
    if (slot) void this.retire(slot, 'killed');
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map((s) => this.retire(s, 'closed', false)));
    this.slots.length = 0;
  }

  private spawnSlot(): Slot {
    const { mode } = this.options;
    let handle: Worker | ChildProcess;
    let send: (batch: Batch) => void;
    if (mode === 'threads') {
      // SHARE_ENV: functions see the host's process.env as it is now, as Python's threads do
      const worker = new Worker(assetUrl('function-pool/thread-worker.mjs'), { env: SHARE_ENV });
      handle = worker;
      send = (batch) => worker.postMessage(batch);
    } else {
      const child = fork(assetUrl('function-pool/process-worker.mjs'), [], {
        serialization: 'advanced',
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        execArgv: [],
        // its own process group, so a kill reaches what the function started too (it still exits
        // with us: the IPC channel closing ends it)
        detached: true,
      });
      handle = child;
      send = (batch) => {
        if (child.connected) child.send(batch);
      };
      // a worker that dies by itself (a crash, process.exit) takes what its function started along
      child.once('exit', () => killGroup(child, false));
    }
    const slot: Slot = {
      handle,
      send,
      inFlight: new Map(),
      known: new Set(),
      alive: true,
      exclusive: false,
      lastError: null,
      exited: handle instanceof Worker ? new Promise<void>((resolve) => handle.once('exit', () => resolve())) : processGone(handle),
    };
    handle.on('error', (err: Error) => {
      slot.lastError = `${err.name}: ${err.message}`;
    });
    handle.once('exit', (code: number | null, signal?: NodeJS.Signals | null) => this.onExit(slot, code, signal ?? null));
    handle.on('message', (results: JobResult[]) => this.onResults(slot, results));
    return slot;
  }

  private onResults(slot: Slot, results: JobResult[]): void {
    if (!slot.alive || !Array.isArray(results)) return;
    for (const r of results) this.settle(slot, r);
    if (slot.exclusive && slot.inFlight.size === 0) slot.exclusive = false;
    if (this.head < this.queue.length || this.suspects.length) this.schedulePump();
  }

  private settle(slot: Slot, r: JobResult): void {
    const task = slot.inFlight.get(r.id);
    if (!task) return; // killed or timed out meanwhile
    this.forget(task);
    this.crashStreak = 0;
    if (r.ok) task.complete({ returnValue: 'shared' in r ? fromShared(r.shared) : r.value });
    else task.fail(decodeError(r.error!));
  }

  /** Drops the pool's hold on a task (its slot entry and timer). */
  private forget(task: ComputeTask): void {
    const entry = task.slot as PoolEntry;
    if (entry.timer) clearTimeout(entry.timer);
    entry.slot?.inFlight.delete(entry.job);
    entry.slot = null;
    entry.timer = null;
  }

  private onExit(slot: Slot, code: number | null, signal: NodeJS.Signals | null): void {
    if (!slot.alive) return; // we retired it
    slot.alive = false;
    const how = signal ? `signal ${signal}` : `code ${code}`;
    const victims = [...slot.inFlight.values()];
    for (const t of victims) this.forget(t);
    this.replace(slot);
    this.crashStreak++;
    if (victims.length === 1 || this.crashStreak > MAX_CRASH_STREAK) {
      for (const t of victims) {
        const detail = slot.lastError ? ` (${slot.lastError})` : '';
        t.fail(new TaskExecutionError(`Task ${t.uid}: its ${this.workerWord()} exited with ${how}${detail}`, { taskUid: t.uid, signal }), { infrastructure: true });
      }
    } else {
      // the culprit is one of them: rerun each alone
      for (const t of victims) {
        (t.slot as PoolEntry).suspect = true;
        this.suspects.push(t);
        t.requeue();
      }
    }
    if (this.crashStreak > MAX_CRASH_STREAK) this.failQueued(`workers keep dying (last: ${how})`);
    this.schedulePump();
  }

  private workerWord(): string {
    return this.options.mode === 'threads' ? 'worker thread' : 'worker process';
  }

  private failQueued(reason: string): void {
    const err = new BackendError(`Worker pool cannot run tasks: ${reason}`);
    for (const t of this.drainQueue()) t.fail(err);
  }

  private drainQueue(): ComputeTask[] {
    const rest = [...this.suspects, ...this.queue.slice(this.head)];
    this.suspects = [];
    this.queue = [];
    this.head = 0;
    return rest;
  }

  /** Terminates a slot; innocent tasks on it go back to the queue. */
  private async retire(slot: Slot, _why: string, replace = true): Promise<void> {
    if (slot.alive) {
      slot.alive = false;
      const innocents = [...slot.inFlight.values()];
      for (const t of innocents) {
        this.forget(t);
        if (!this.closed) {
          this.queue.push(t);
          t.requeue();
        }
      }
      if (replace && !this.closed) this.replace(slot);
      if (slot.handle instanceof Worker) void slot.handle.terminate();
      else killGroup(slot.handle);
      this.schedulePump();
    }
    await slot.exited;
  }

  private replace(slot: Slot): void {
    const i = this.slots.indexOf(slot);
    if (i >= 0 && !this.closed) this.slots[i] = this.spawnSlot();
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.closed) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    const alive = this.slots.filter((s) => s.alive && !s.exclusive);
    if (alive.length === 0) return;
    // suspects run alone on an idle worker
    while (this.suspects.length) {
      const idle = alive.find((s) => !s.exclusive && s.inFlight.size === 0);
      if (!idle) break;
      const t = this.suspects.shift()!;
      if (t.state !== 'QUEUED') continue;
      idle.exclusive = true;
      this.dispatch(idle, [t]);
    }
    let pending = this.queue.length - this.head;
    if (pending === 0) return;
    // spread what waits over the workers that have room (a full one takes nothing now)
    const open = alive.filter((s) => !s.exclusive && s.inFlight.size < MAX_WINDOW);
    if (open.length === 0) return;
    const share = Math.min(MAX_WINDOW, Math.ceil(pending / open.length));
    for (const slot of open) {
      const room = Math.min(share, MAX_WINDOW - slot.inFlight.size);
      if (room <= 0) continue;
      const batch: ComputeTask[] = [];
      while (batch.length < room && this.head < this.queue.length) {
        const t = this.queue[this.head]!;
        // the queue must not keep a taken task (and its result) reachable after it ends
        this.queue[this.head++] = undefined as unknown as ComputeTask;
        if (t.state === 'QUEUED') batch.push(t);
      }
      if (batch.length) this.dispatch(slot, batch);
      pending = this.queue.length - this.head;
      if (pending === 0) break;
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head > 4096 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
  }

  private dispatch(slot: Slot, tasks: ComputeTask[]): void {
    const fns: FunctionDef[] = [];
    const jobs: Job[] = [];
    const transient = new Set<number>();
    for (const task of tasks) {
      const fn = task.spec.function!;
      const fnId = this.functionId(fn);
      const def = this.defs.get(fnId);
      if (def === undefined) {
        // a closure: its definition (with the captured values) travels with each batch that uses it
        if (!transient.has(fnId)) {
          transient.add(fnId);
          fns.push({ id: fnId, wire: shipFunction(fn as (...args: never[]) => unknown).wire!, transient: true });
        }
      } else if (!slot.known.has(fnId)) {
        slot.known.add(fnId);
        fns.push(def);
      }
      const entry = task.slot as PoolEntry;
      entry.job = this.nextJob++;
      entry.slot = slot;
      slot.inFlight.set(entry.job, task);
      const job: Job = { id: entry.job, fn: fnId, args: callArguments(task.spec) };
      if (this.options.mode === 'threads') shareArguments(job, task.spec);
      jobs.push(job);
      const timeout = task.spec.taskBackendSpecificKwargs.timeout;
      if (timeout !== undefined) entry.timer = setTimeout(() => void this.onTimeout(task, timeout), timeout);
      task.start();
    }
    try {
      slot.send({ fns, jobs });
    } catch (_err) {
      // e.g. an argument that cannot be cloned: find the tasks that cannot go, send the rest
      this.sendEach(slot, tasks, fns, jobs);
    }
  }

  /** A batch that did not serialize: each job alone, so only the culprits fail. */
  private sendEach(slot: Slot, tasks: ComputeTask[], fns: FunctionDef[], jobs: Job[]): void {
    const defs = new Map(fns.map((d) => [d.id, d]));
    for (let i = 0; i < tasks.length; i++) {
      const task = tasks[i]!;
      const job = jobs[i]!;
      const def = defs.get(job.fn);
      try {
        slot.send({ fns: def ? [def] : [], jobs: [job] });
        defs.delete(job.fn);
      } catch (err) {
        if ((task.slot as PoolEntry).slot !== slot) continue;
        this.forget(task);
        task.fail(new TaskExecutionError(`Task ${task.uid}: cannot send it to the worker: ${(err as Error)?.message ?? err}`, { taskUid: task.uid }, { cause: err }));
      }
    }
    for (const id of defs.keys()) slot.known.delete(id); // never delivered: send it with the next use
  }

  private async onTimeout(task: ComputeTask, ms: number): Promise<void> {
    const entry = task.slot as PoolEntry;
    if (!entry.slot) return;
    const slot = entry.slot;
    this.forget(task);
    task.fail(new TaskExecutionError(`Task ${task.uid} timed out after ${ms} ms; its ${this.workerWord()} was terminated`, { taskUid: task.uid }), { timedOut: true });
    await this.retire(slot, 'timeout');
  }

  private functionId(fn: NonNullable<ComputeTaskSpec['function']>): number {
    if (typeof fn === 'function') {
      let id = this.fnIds.get(fn) ?? this.wireIds.get(fn);
      if (id === undefined) {
        const shipped = shipFunction(fn as (...args: never[]) => unknown);
        if (shipped.wire) {
          id = this.nextFn++;
          this.wireIds.set(fn, id);
          return id;
        }
        const source = fn.toString();
        id = this.sourceIds.get(source);
        if (id === undefined) {
          id = this.nextFn++;
          this.sourceIds.set(source, id);
          this.defs.set(id, { id, source });
        }
        this.fnIds.set(fn, id);
      }
      return id;
    }
    const ref = fn as ModuleFunctionRef;
    const key = `${ref.module}#${ref.export ?? 'default'}`;
    let id = this.moduleIds.get(key);
    if (id === undefined) {
      id = this.nextFn++;
      this.moduleIds.set(key, id);
      this.defs.set(id, { id, module: moduleSpecifier(ref.module), export: ref.export });
    }
    return id;
  }
}

/** SIGKILLs a worker process's whole group (what its function started dies with it). */
function killGroup(child: ChildProcess, leaderToo = true): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
  } catch {
    if (leaderToo) child.kill('SIGKILL'); // no group left (ESRCH): the worker alone, if still there
  }
}

/** Absolute paths become file URLs so `import()` takes them on every platform. */
export function moduleSpecifier(module: string): string {
  return isAbsolute(module) ? pathToFileURL(module).href : module;
}
