import type { ConnectionOptions } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import { RedisServer } from '../../actors/distributed/redis-server.js';
import { BackendError } from '../errors.js';
import { withDeadline } from '../internal/deadline.js';

/** What a part of the backend tells `state$` (the backend's `reportProgress`). */
export type Progress = (update: { detail?: string | null; log?: string | string[] }) => void;

/** BullMQ connection options from a URL or ioredis options. */
export function bullConnection(connection: string | RedisOptions): ConnectionOptions {
  return typeof connection === 'string' ? { url: connection, maxRetriesPerRequest: null } : ({ ...connection, maxRetriesPerRequest: null } as ConnectionOptions);
}

/** A command client that keeps commands while disconnected (BullMQ needs that) and checks readiness. */
export function redisOf(connection: string | RedisOptions): Redis {
  const opts = { maxRetriesPerRequest: null, enableReadyCheck: true } as const;
  return typeof connection === 'string' ? new Redis(connection, opts) : new Redis({ ...connection, ...opts });
}

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

/** A graceful close of BullMQ's clients gets this long before they are disconnected. */
const CLOSE_GRACE_MS = 3000;

/**
 * The distributed backend's Redis: the one it was given, or a private redis-server it starts and
 * stops; its command client; whether Redis answers (from the client's connection events); and every
 * wait on Redis bounded by how long it may stay away (`redisTimeoutMs`). The clients keep commands
 * while disconnected (BullMQ needs that), so an unbounded call would wait forever for a Redis that
 * never returns.
 */
export class RedisConnection {
  private downSince: number | null = null;
  private readonly waiters = new Map<() => void, (e: Error) => void>();

  private constructor(
    /** what workers and BullMQ's clients connect to: a URL or ioredis options */
    readonly connection: string | RedisOptions,
    readonly client: Redis,
    readonly timeoutMs: number,
    private readonly backend: string,
    private readonly server: RedisServer | null,
  ) {
    const down = () => (this.downSince ??= Date.now());
    client.on('error', () => undefined);
    client.on('close', down);
    client.on('end', down);
    client.on('ready', () => {
      this.downSince = null;
      for (const resolve of this.waiters.keys()) resolve();
      this.waiters.clear();
    });
  }

  /** Connects to `connection`, or starts a private redis-server (loopback, no persistence) without one. */
  static async open(backend: string, options: { connection?: string | RedisOptions; redisTimeoutMs?: number }, progress: Progress): Promise<RedisConnection> {
    let server: RedisServer | null = null;
    let connection = options.connection;
    if (!connection) {
      progress({ detail: 'starting redis-server' });
      server = await RedisServer.start();
      connection = server.url;
      progress({ log: `redis-server ready on ${connection}` });
    }
    return new RedisConnection(connection, redisOf(connection), options.redisTimeoutMs ?? 30_000, backend, server);
  }

  /** BullMQ's connection options for a queue client of this Redis. */
  get bull(): ConnectionOptions {
    return bullConnection(this.connection);
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
    return new BackendError(`${what}: Redis at ${redisWhere(this.connection)} has not answered for ${this.timeoutMs} ms`, this.backend);
  }

  /** Waits until Redis is up; rejects once it has been away for the timeout (counted from when it went). */
  ready(what: string): Promise<void> {
    if (this.up) return Promise.resolve();
    const left = this.timeoutMs - (this.downSince === null ? 0 : Date.now() - this.downSince);
    let done!: () => void;
    const back = new Promise<void>((resolve, reject) => this.waiters.set((done = resolve), reject));
    return withDeadline(back, left, () => this.error(what)).finally(() => this.waiters.delete(done));
  }

  /** A Redis call that rejects with a BackendError when it does not answer within the timeout. */
  call<T>(p: Promise<T>, what: string, ms = this.timeoutMs): Promise<T> {
    return withDeadline(p, ms, () => this.error(what));
  }

  /**
   * Calls `back` each time Redis returns after the connection closed: a restarted Redis lost what it
   * held without persistence (the class registry, maybe jobs), and events may have been missed.
   */
  onReturn(back: () => void): void {
    let lost = false;
    this.client.on('close', () => (lost = true));
    this.client.on('ready', () => {
      if (!lost) return;
      lost = false;
      back();
    });
  }

  /**
   * The backend shuts down: waits for Redis end now. Returns how long BullMQ's clients may take to
   * close gracefully (their close() waits for Redis): a grace while Redis answers, none when not.
   */
  stopWaiting(): number {
    for (const reject of this.waiters.values()) reject(new BackendError(`backend ${this.backend} shut down`, this.backend));
    this.waiters.clear();
    return this.up ? Math.min(CLOSE_GRACE_MS, this.timeoutMs) : 0;
  }

  /** Disconnects the client and stops the private redis-server, if this started one. */
  async close(): Promise<void> {
    this.client.disconnect();
    await this.server?.close();
  }
}
