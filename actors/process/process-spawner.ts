import { fork, type ChildProcess } from 'node:child_process';
import { BackendError } from '../../src/errors.js';
import { envSnapshot, type EnvSnapshot } from './env-snapshot.js';
import { DEFAULT_OUTPUT_CAP } from './output-cap.mjs';
import { assetUrl } from '../assets.js';
import type { SpawnOptions, SpawnOsError, SpawnResult, SpawnerMessage, SpawnerReply } from './spawner.mjs';

export type { Overflow, SpawnOsError, SpawnResult } from './spawner.mjs';

/** A process to run: what travels to the spawner (spawner.d.mts), and the environment to run it in. */
export interface SpawnRequest extends SpawnOptions {
  /** the runtime's environment at submit (default: taken now); `env` is merged over it */
  baseEnv?: EnvSnapshot;
}

export type KillFn = (reason?: 'canceled' | 'timeout') => void;

/** What both spawners (native and Node) offer. */
export interface Spawner {
  start(): Promise<void>;
  run(req: SpawnRequest, onKillable?: (kill: KillFn) => void): Promise<SpawnResult>;
  readonly load: number;
  readonly pid: number | undefined;
  close(): Promise<void>;
}

/** The OS error as an Error with `code`, `errno`, `syscall`, `path` (like Node's spawn errors). */
export function spawnError(e: SpawnOsError): Error {
  return Object.assign(new Error(e.message), { code: e.code, errno: e.errno, syscall: e.syscall, path: e.path });
}

/** A request whose process had not started when its spawner died is sent to a fresh one, this often. */
export const MAX_DISPATCH = 3;

interface Pending {
  req: SpawnRequest;
  resolve: (r: SpawnResult) => void;
  reject: (e: Error) => void;
  pid: number;
  tries: number;
}

/**
 * Host side of the Node spawner process (`spawner.mjs`). Requests and replies travel over IPC. If
 * the spawner dies, the process groups it had started are killed and their requests reject with
 * BackendError; requests it had not started yet go to a fresh spawner.
 */
export class ProcessSpawner implements Spawner {
  private child: ChildProcess | null = null;
  private ready: Promise<void> | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private envVersion = 0;

  private ensure(): Promise<void> {
    if (this.ready) return this.ready;
    const child = fork(assetUrl('process/spawner.mjs'), [], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: ['--max-old-space-size=256'],
    });
    this.child = child;
    this.envVersion = 0;
    this.ready = new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => reject(new BackendError(`spawner exited before it was ready (${signal ?? code})`)));
      child.on('message', (msg: SpawnerReply) => {
        if ('ready' in msg) return resolve();
        if ('started' in msg) {
          const p = this.pending.get(msg.started);
          if (p) p.pid = msg.pid;
          return;
        }
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        p.resolve(msg);
      });
    });
    this.ready.catch(() => undefined);
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = null;
      this.ready = null;
      this.spawnerDied(`the process spawner exited (${signal ?? `code ${code}`})`);
    });
    child.on('error', () => undefined);
    return this.ready;
  }

  /** Kills the groups the dead spawner had started (failing them); re-sends the rest. */
  private spawnerDied(why: string): void {
    const started = [...this.pending].filter(([, p]) => p.pid > 0);
    const err = new BackendError(`${why} with ${started.length} process(es) in flight; their process groups were killed`);
    for (const [id, p] of started) {
      killGroup(p.pid);
      this.pending.delete(id);
      p.reject(err);
    }
    for (const [id, p] of [...this.pending]) {
      this.pending.delete(id);
      if (this.closed || p.tries >= MAX_DISPATCH) p.reject(new BackendError(`${why} before the process started`));
      else void this.dispatch(id, p);
    }
  }

  private async dispatch(id: number, p: Pending): Promise<void> {
    p.tries++;
    this.pending.set(id, p);
    try {
      await this.ensure();
    } catch (err) {
      if (this.pending.delete(id)) p.reject(err as Error);
      return;
    }
    if (!this.pending.has(id) || !this.child?.connected) return;
    const { baseEnv, ...req } = p.req;
    const env = baseEnv ?? envSnapshot();
    if (env.version !== this.envVersion) {
      this.envVersion = env.version;
      this.child.send({ op: 'env', env: env.env } satisfies SpawnerMessage);
    }
    this.child.send({ op: 'run', id, ...req, maxOutputBytes: req.maxOutputBytes ?? DEFAULT_OUTPUT_CAP } satisfies SpawnerMessage);
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
  async run(req: SpawnRequest, onKillable?: (kill: KillFn) => void): Promise<SpawnResult> {
    if (this.closed) throw new BackendError('the process spawner is closed');
    await this.ensure();
    const id = this.nextId++;
    onKillable?.((reason = 'canceled') => this.kill(id, reason));
    return new Promise<SpawnResult>((resolve, reject) => {
      void this.dispatch(id, { req, resolve, reject, pid: 0, tries: 0 });
    });
  }

  /** Kills a request's process group (SIGTERM, then SIGKILL after a grace period). */
  kill(id: number, reason: 'canceled' | 'timeout' = 'canceled'): void {
    if (this.child?.connected && this.pending.has(id)) this.child.send({ op: 'kill', id, reason } satisfies SpawnerMessage);
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

/** SIGKILL to a process group (gone already is fine). */
export function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // gone
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
