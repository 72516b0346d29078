import type { ChildProcess } from 'node:child_process';
import { BackendError } from '../../src/errors.js';
import { envSnapshot, type EnvSnapshot } from './env-snapshot.js';
import { processGone, signalGroup } from './kill-tree.js';
import type { SpawnOptions, SpawnOsError, SpawnResult } from './spawner.mjs';

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

/** A request in flight; `pid` is its process (group) once the helper said it started. */
export interface Pending {
  req: SpawnRequest;
  resolve: (r: SpawnResult) => void;
  reject: (e: Error) => void;
  pid: number;
  tries: number;
}

/**
 * Host side of a spawner helper process (one helper runs many requests): the request bookkeeping
 * both spawners share. If the helper dies, the process groups it had started are killed and their
 * requests reject with BackendError (the backends count that as an infrastructure failure); requests
 * it had not started yet go to a fresh helper, up to MAX_DISPATCH times. A transport subclass says
 * how the helper is started, how a request, an environment and a kill are sent, and how the replies
 * are decoded (it calls `started` and `take`).
 */
export abstract class SpawnerHost<H extends ChildProcess> implements Spawner {
  /** the live helper (null until the first request and after it died) */
  protected helper: H | null = null;
  private ready: Promise<void> | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private envVersion = 0;

  /** `name` names the helper in errors ("the native spawner exited (SIGKILL) …"). */
  protected constructor(private readonly name: string) {}

  /** Starts a helper (and resets the transport's per-helper state). */
  protected abstract launch(): H;
  /** Decodes the helper's replies: `ready()` once it is up, then `started` and `take` per request. */
  protected abstract listen(child: H, ready: () => void): void;
  /** Whether requests can be sent to the helper now. */
  protected abstract writable(child: H): boolean;
  protected abstract sendEnv(child: H, env: EnvSnapshot): void;
  protected abstract sendRun(child: H, id: number, req: SpawnRequest): void;
  protected abstract sendKill(child: H, id: number, reason: 'canceled' | 'timeout'): void;
  /** Ends the helper's input, which makes it SIGKILL every running group and exit. */
  protected abstract endInput(child: H): void;

  /** The helper started request `id` as process (group) `pid`. */
  protected started(id: number, pid: number): void {
    const p = this.pending.get(id);
    if (p) p.pid = pid;
  }

  /** Removes request `id` to settle it (undefined: settled already). */
  protected take(id: number): Pending | undefined {
    const p = this.pending.get(id);
    if (p) this.pending.delete(id);
    return p;
  }

  private ensure(): Promise<void> {
    if (this.ready) return this.ready;
    const child = this.launch();
    this.helper = child;
    this.envVersion = 0;
    this.ready = new Promise<void>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => reject(new BackendError(`${this.name} exited before it was ready (${signal ?? code})`)));
      this.listen(child, resolve);
    });
    this.ready.catch(() => undefined);
    child.on('exit', (code, signal) => {
      if (this.helper !== child) return;
      this.helper = null;
      this.ready = null;
      this.helperDied(`the ${this.name} exited (${signal ?? `code ${code}`})`);
    });
    child.on('error', () => undefined);
    return this.ready;
  }

  /** Kills the groups the dead helper had started (failing them); re-sends the rest. */
  private helperDied(why: string): void {
    const started = [...this.pending].filter(([, p]) => p.pid > 0);
    const err = new BackendError(`${why} with ${started.length} process(es) in flight; their process groups were killed`);
    for (const [id, p] of started) {
      signalGroup(p.pid, 'SIGKILL');
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
    const child = this.helper;
    if (!this.pending.has(id) || !child || !this.writable(child)) return;
    const env = p.req.baseEnv ?? envSnapshot();
    if (env.version !== this.envVersion) {
      this.envVersion = env.version;
      this.sendEnv(child, env);
    }
    this.sendRun(child, id, p.req);
  }

  /** Starts the helper now (rather than on the first request). */
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
    const id = this.nextId++;
    onKillable?.((reason = 'canceled') => this.kill(id, reason));
    return new Promise<SpawnResult>((resolve, reject) => {
      void this.dispatch(id, { req, resolve, reject, pid: 0, tries: 0 });
    });
  }

  /** Kills a request's process group (SIGTERM, then SIGKILL after its grace period). */
  kill(id: number, reason: 'canceled' | 'timeout' = 'canceled'): void {
    const child = this.helper;
    if (child && this.writable(child) && this.pending.has(id)) this.sendKill(child, id, reason);
  }

  get pid(): number | undefined {
    return this.helper?.pid;
  }

  /** Kills everything still running (the helper does, once its input ends), then the helper. */
  async close(): Promise<void> {
    this.closed = true;
    const child = this.helper;
    if (!child) return;
    const exited = processGone(child);
    this.endInput(child);
    const t = setTimeout(() => child.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  }
}
