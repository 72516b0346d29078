import { fork, type ChildProcess } from 'node:child_process';
import { BackendError } from '../src/errors.js';

export interface SpawnRequest {
  file: string;
  args: string[];
  shell?: boolean | string;
  cwd?: string;
  /** merged over the parent environment */
  env?: Record<string, string>;
  /** ms */
  timeout?: number;
  stdoutFile?: string;
  stderrFile?: string;
  /** fed to stdin (default: stdin ignored) */
  input?: string;
  stdout?: 'pipe' | 'ignore';
  /** 'stdout' merges stderr into stdout */
  stderr?: 'pipe' | 'stdout' | 'ignore';
}

export interface SpawnResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** why we killed it: 'timeout' | 'canceled' | null */
  killed: string | null;
  /** the process could not be started (ENOENT, EACCES, …) */
  error: string | null;
}

interface Pending { resolve: (r: SpawnResult) => void; reject: (e: Error) => void }

/**
 * Host side of the spawner process (`spawner.mjs`). Requests and replies travel over IPC; if the
 * spawner dies, every pending request rejects with BackendError and the next request starts a
 * new spawner.
 */
export class ProcessSpawner {
  private child: ChildProcess | null = null;
  private ready: Promise<void> | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  private ensure(): Promise<void> {
    if (this.ready) return this.ready;
    const child = fork(new URL('./spawner.mjs', import.meta.url), [], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: ['--max-old-space-size=256'],
    });
    this.child = child;
    this.ready = new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => reject(new BackendError(`spawner exited before it was ready (${signal ?? code})`)));
      child.on('message', (msg: { ready?: boolean; id?: number } & SpawnResult) => {
        if (msg.ready) return resolve();
        const p = this.pending.get(msg.id!);
        if (!p) return;
        this.pending.delete(msg.id!);
        p.resolve(msg);
      });
    });
    this.ready.catch(() => undefined);
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = null;
      this.ready = null;
      const err = new BackendError(`the process spawner exited (${signal ?? `code ${code}`}) with ${this.pending.size} process(es) in flight`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    });
    child.on('error', () => undefined);
    return this.ready;
  }

  /** Starts the spawner now (rather than on the first request). */
  async start(): Promise<void> {
    await this.ensure();
  }

  /** Number of requests in flight. */
  get load(): number {
    return this.pending.size;
  }

  /** Runs one process; `onKillable` receives a function that kills its process group. */
  async run(req: SpawnRequest, onKillable?: (kill: (reason?: 'canceled' | 'timeout') => void) => void): Promise<SpawnResult> {
    if (this.closed) throw new BackendError('the process spawner is closed');
    await this.ensure();
    const id = this.nextId++;
    onKillable?.((reason = 'canceled') => this.kill(id, reason));
    return new Promise<SpawnResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child!.send({ op: 'run', id, ...req });
    });
  }

  /** Kills a request's process group (SIGTERM, then SIGKILL after a grace period). */
  kill(id: number, reason: 'canceled' | 'timeout' = 'canceled'): void {
    if (this.child?.connected && this.pending.has(id)) this.child.send({ op: 'kill', id, reason });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Kills everything still running, then the spawner. */
  async close(): Promise<void> {
    this.closed = true;
    const child = this.child;
    if (!child) return;
    const exited = processGone(child);
    // disconnect makes the spawner SIGKILL every running group before it exits
    if (child.connected) child.disconnect();
    const t = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  }
}

/**
 * Resolves once a child process has exited and Node has released its handle (which happens in the
 * loop's close phase after 'exit'; 'close' does not fire once the IPC channel was disconnected).
 */
export function processGone(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => setTimeout(resolve, 0);
    if (child.exitCode !== null || child.signalCode !== null) done();
    else child.once('exit', done);
  });
}
