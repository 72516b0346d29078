import type { Redis, RedisOptions } from 'ioredis';
import { BackendError } from '../errors.js';
import { withDeadline } from '../internal/deadline.js';

/** Where Redis is, for messages: host and port only (never a password). */
export function redisWhere(connection: string | RedisOptions): string {
  if (typeof connection !== 'string') return `${connection.host ?? '127.0.0.1'}:${connection.port ?? 6379}`;
  try {
    const u = new URL(connection);
    return `${u.hostname}:${u.port || 6379}`;
  } catch {
    return 'Redis';
  }
}

/**
 * Whether the backend's Redis answers, from its client's connection events, and Redis calls bounded
 * by how long Redis may stay away (`redisTimeoutMs`). The clients keep commands while disconnected
 * (BullMQ needs that), so an unbounded call would wait forever for a Redis that never returns.
 */
export class RedisWatch {
  private downSince: number | null = null;
  private readonly waiters = new Map<() => void, (e: Error) => void>();

  constructor(
    private readonly client: Redis,
    readonly timeoutMs: number,
    private readonly backend: string,
    private readonly where: string,
  ) {
    const down = () => (this.downSince ??= Date.now());
    client.on('close', down);
    client.on('end', down);
    client.on('ready', () => {
      this.downSince = null;
      for (const resolve of this.waiters.keys()) resolve();
      this.waiters.clear();
    });
  }

  /** Connected and answering. */
  get up(): boolean {
    return this.client.status === 'ready';
  }

  /** Redis has been away for longer than the timeout. */
  get gaveUp(): boolean {
    return this.downSince !== null && Date.now() - this.downSince > this.timeoutMs;
  }

  /** The error tasks and waits end with when Redis stays away. */
  error(what: string): BackendError {
    return new BackendError(`${what}: Redis at ${this.where} has not answered for ${this.timeoutMs} ms`, this.backend);
  }

  /** Waits until Redis is up; rejects once it has been away for the timeout (counted from when it went). */
  ready(what: string): Promise<void> {
    if (this.up) return Promise.resolve();
    const left = this.timeoutMs - (this.downSince === null ? 0 : Date.now() - this.downSince);
    let done!: () => void;
    const back = new Promise<void>((resolve, reject) => this.waiters.set((done = resolve), reject));
    return withDeadline(back, left, () => this.error(what)).finally(() => this.waiters.delete(done));
  }

  /** The backend shuts down: waits for Redis end now. */
  close(): void {
    for (const reject of this.waiters.values()) reject(new BackendError(`backend ${this.backend} shut down`, this.backend));
    this.waiters.clear();
  }

  /** A Redis call that rejects with a BackendError when it does not answer within the timeout. */
  call<T>(p: Promise<T>, what: string, ms = this.timeoutMs): Promise<T> {
    return withDeadline(p, ms, () => this.error(what));
  }
}
