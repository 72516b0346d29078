import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, delimiter } from 'node:path';
import { processGone } from '../process/process-spawner.js';
import { assetPath } from '../assets.js';

/** The Python side: the client process, and the module its workers import (shipped beside it). */
const BRIDGE = assetPath('dask/dask_bridge.py');
const HERE = dirname(BRIDGE);

export interface DaskWorkerInfo {
  address: string;
  name: string;
  nthreads: number;
  resources: Record<string, number>;
}

/** What the client process reports once it is connected. */
export interface DaskReady {
  pid: number;
  scheduler: string;
  mode: string;
  /** the cluster's class name, when the process made one */
  cluster: string | null;
  dashboard: string | null;
  workers: DaskWorkerInfo[];
}

/** How the client process gets its cluster (see actors/dask/dask_bridge.py). */
export interface DaskBridgeConfig {
  mode: 'address' | 'cluster' | 'local' | 'scheduler';
  address?: string;
  cluster?: string;
  scale?: number;
  local?: { nWorkers?: number; threadsPerWorker?: number; workerResources?: Record<string, number> | Array<Record<string, number>> };
  host?: string;
  waitWorkers?: number;
  /** s */
  workerTimeout?: number;
}

/** One task for Dask: `id` is its key (task uid + run suffix); `spec` goes to rhapsody_dask_worker.py. */
export interface DaskJob {
  id: string;
  kind: 'cmd' | 'py' | 'js';
  spec: Record<string, unknown>;
  resources?: Record<string, number>;
}

export interface DaskErrorData {
  type: string;
  message: string;
  traceback: string;
  reference?: boolean;
}

export type DaskDone = { id: string; ok: true; kind: DaskJob['kind']; data: any } | { id: string; ok: false; category: 'task' | 'resource' | 'backend' | 'canceled'; error: DaskErrorData };

export interface DaskClientEvents {
  workers?(workers: DaskWorkerInfo[]): void;
  /** the process ended without being asked to (crash, kill, lost scheduler) */
  died?(reason: string): void;
}

/** Which interpreter imports `distributed`: the given one, or the first of the usual names. */
export async function findPython(given?: string): Promise<string> {
  const tried: string[] = [];
  for (const py of given ? [given] : ['python3', '/usr/bin/python3', 'python']) {
    const why = await new Promise<string | null>((resolve) =>
      execFile(py, ['-c', 'import importlib.util, sys; sys.exit(0 if importlib.util.find_spec("distributed") else 3)'], { timeout: 20_000 }, (err) =>
        resolve(
          !err ? null : (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : (err as { code?: number }).code === 3 ? 'cannot import distributed' : String(err.message).split('\n')[0]!,
        ),
      ),
    );
    if (why === null) return py;
    tried.push(`${py} (${why})`);
  }
  throw new Error(
    `no Python interpreter that can import dask.distributed: tried ${tried.join(', ')}. ` +
      'Install it with `apt-get install python3-distributed` (Debian/Ubuntu, then use /usr/bin/python3) or `python3 -m pip install "distributed"`, or pass `python`',
  );
}

/** PYTHONPATH for the client and the workers it starts: the worker module's folder first. */
export function pythonPathEnv(extra: string[] = []): string {
  return [HERE, ...extra, ...(process.env.PYTHONPATH ? [process.env.PYTHONPATH] : [])].join(delimiter);
}

/**
 * SIGKILLs every process on this machine whose environment carries the token: what the client's
 * workers started (commands run in their own sessions, so a dead worker orphans them). Linux /proc.
 */
export function killTokenProcesses(token: string): void {
  const needle = `RHAPSODY_DASK_TOKEN=${token}\0`;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return;
  }
  for (const entry of entries) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/environ`, 'latin1').includes(needle)) process.kill(pid, 'SIGKILL');
    } catch {
      // gone meanwhile, or not ours
    }
  }
}

/**
 * The Dask client process (actors/dask/dask_bridge.py) as an actor: JSON lines over stdio, submissions
 * batched per tick, one pending promise per task key. It runs in its own process group, so a
 * LocalCluster's worker processes go with it when it is killed.
 */
export class DaskClient {
  private readonly pending = new Map<string, (d: DaskDone) => void>();
  private outbox: DaskJob[] = [];
  private flushScheduled = false;
  private buffer = '';
  private stderrTail = '';
  private closing = false;
  private dead: string | null = null;
  private waiters: Array<(m: any) => void> = [];
  readonly exited: Promise<void>;
  /** in the environment of the client and of every process its own workers start */
  readonly token: string;
  ready!: DaskReady;

  private constructor(
    private readonly child: ChildProcess,
    private readonly events: DaskClientEvents,
    token: string,
  ) {
    this.token = token;
    this.exited = processGone(child);
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => this.onData(chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderrTail = (this.stderrTail + chunk).slice(-4000)));
    child.stdin!.on('error', () => undefined);
    child.on('exit', (code, signal) => this.onExit(code, signal));
  }

  /** Starts the process and waits for its `ready` line (or its fatal error). */
  static async start(options: { python: string; pythonPath?: string[]; config: DaskBridgeConfig; events?: DaskClientEvents; timeoutMs?: number }): Promise<DaskClient> {
    const token = randomUUID();
    const child = spawn(options.python, [BRIDGE, JSON.stringify(options.config)], {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
      env: { ...process.env, PYTHONPATH: pythonPathEnv(options.pythonPath), PYTHONUNBUFFERED: '1', RHAPSODY_DASK_TOKEN: token, RHAPSODY_WIRE_CODEC_FILE: assetPath('codec/wire-codec.mjs') },
    });
    child.on('error', () => undefined);
    const client = new DaskClient(child, options.events ?? {}, token);
    const first = await Promise.race([
      client.next(),
      new Promise<any>((r) => setTimeout(() => r({ ev: 'fatal', error: `no answer within ${(options.timeoutMs ?? 120_000) / 1000} s` }), options.timeoutMs ?? 120_000).unref()),
    ]);
    if (first?.ev !== 'ready') {
      client.closing = true;
      client.kill();
      await client.exited;
      throw new Error(`the Dask client process failed to start: ${first?.error ?? 'it exited'}${client.stderrTail ? `\n${client.stderrTail.trim().slice(-1500)}` : ''}`);
    }
    client.ready = first as DaskReady;
    return client;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get alive(): boolean {
    return this.dead === null;
  }

  /** Submits one task; settles when Dask reports it (never rejects). Aborting asks Dask to cancel it. */
  run(job: DaskJob, signal?: AbortSignal): Promise<DaskDone> {
    if (this.dead !== null) return Promise.resolve(this.lost(job.id));
    return new Promise<DaskDone>((resolve) => {
      this.pending.set(job.id, resolve);
      this.outbox.push(job);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
      signal?.addEventListener('abort', () => this.cancel(job.id), { once: true });
    });
  }

  /** Waits until `n` workers are connected (SLURM workers started after the scheduler). */
  async waitWorkers(n: number, timeoutS: number): Promise<DaskWorkerInfo[]> {
    const answer = this.next();
    this.send({ op: 'wait', n, timeout: timeoutS });
    const m = await answer;
    if (m?.ev !== 'waited' || !m.ok) throw new Error(`Dask workers did not connect: ${m?.error ?? this.dead ?? 'no answer'} (connected: ${(m?.workers ?? []).length} of ${n})`);
    return m.workers;
  }

  /** Closes the client (and the cluster it made); SIGKILLs the process group if it hangs. */
  async close(timeoutMs = 20_000): Promise<void> {
    this.closing = true;
    if (this.dead === null) {
      this.send({ op: 'close' });
      this.child.stdin!.end();
    }
    const timer = setTimeout(() => this.kill(), timeoutMs);
    await this.exited;
    clearTimeout(timer);
    this.kill(); // whatever the process left in its group (spawned workers' helpers)
    killTokenProcesses(this.token);
  }

  /** SIGKILLs the process group. */
  kill(): void {
    try {
      process.kill(-this.child.pid!, 'SIGKILL');
    } catch {
      this.child.kill('SIGKILL');
    }
  }

  private cancel(id: string): void {
    if (!this.pending.has(id)) return;
    const queued = this.outbox.findIndex((j) => j.id === id);
    if (queued >= 0) {
      this.outbox.splice(queued, 1);
      this.settle({ id, ok: false, category: 'canceled', error: { type: 'CancelledError', message: 'canceled', traceback: '' } });
      return;
    }
    this.send({ op: 'cancel', ids: [id] });
  }

  private flush(): void {
    this.flushScheduled = false;
    if (!this.outbox.length) return;
    const tasks = this.outbox;
    this.outbox = [];
    this.send({ op: 'submit', tasks });
  }

  private send(msg: unknown): void {
    if (this.dead !== null || !this.child.stdin!.writable) return;
    this.child.stdin!.write(`${JSON.stringify(msg)}\n`);
  }

  /** The next non-task line (ready / waited / fatal), or null once the process is gone. */
  private next(): Promise<any> {
    if (this.dead !== null) return Promise.resolve(null);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private onData(chunk: string): void {
    this.buffer += chunk;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl);
      this.buffer = this.buffer.slice(nl + 1);
      if (!line.trim()) continue;
      let m: any;
      try {
        m = JSON.parse(line);
      } catch {
        continue; // stray output from a library: not ours
      }
      if (m.ev === 'done') this.settle(m as DaskDone);
      else if (m.ev === 'workers') this.events.workers?.(m.workers);
      else if (m.ev === 'fatal' && this.ready && !this.waiters.length) this.dead = `the Dask client process gave up: ${m.error}`;
      else this.waiters.shift()?.(m);
    }
  }

  private settle(d: DaskDone): void {
    const resolve = this.pending.get(d.id);
    if (!resolve) return;
    this.pending.delete(d.id);
    resolve(d);
  }

  private lost(id: string): DaskDone {
    return { id, ok: false, category: 'backend', error: { type: 'BackendError', message: this.dead ?? 'the Dask client process is gone', traceback: '' } };
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    const unexpected = !this.closing;
    this.dead ??= `the Dask client process (pid ${this.child.pid}) exited (${signal ?? `code ${code}`})${unexpected && this.stderrTail ? `: ${this.stderrTail.trim().split('\n').slice(-3).join(' | ')}` : ''}`;
    if (unexpected) {
      this.kill(); // its cluster's worker processes, if any
      killTokenProcesses(this.token); // and the commands those workers were running
    }
    for (const id of [...this.pending.keys()]) this.settle(this.lost(id));
    for (const w of this.waiters.splice(0)) w(null);
    if (unexpected) this.events.died?.(this.dead);
  }
}
