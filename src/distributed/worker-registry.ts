import type { WorkerCluster } from '../../actors/distributed/worker-clusters.js';
import { BackendError } from '../errors.js';
import { keys, type Resources } from './protocol.js';
import type { Progress, RedisConnection } from './redis-connection.js';

/** A registered worker with a fresh heartbeat, and what it offers. */
export interface WorkerInfo {
  id: string;
  resources: Resources;
  concurrency: number;
}

/** How long an empty registry is looked at again before a batch is judged against it (ms). */
const REREGISTER_MS = 3000;

/**
 * Which workers are alive and what they offer: each worker writes itself into a hash in Redis and
 * renews a short-lived heartbeat key every second, so a worker whose heartbeat expired is gone. Also
 * the cluster of workers the backend started (a LocalCluster, SlurmCluster or the user's own), which
 * it waits for at start and stops at shutdown.
 */
export class WorkerRegistry {
  private cluster: WorkerCluster | null = null;

  constructor(
    private readonly redis: RedisConnection,
    private readonly prefix: string,
    private readonly backend: string,
    private readonly progress: Progress,
  ) {}

  /** Registered workers with a fresh heartbeat, with the resources they offer. */
  async live(): Promise<WorkerInfo[]> {
    const k = keys(this.prefix);
    const all = await this.redis.call(this.redis.client.hgetall(k.workers), 'reading the worker registry');
    const ids = Object.keys(all);
    if (ids.length === 0) return [];
    const alive = await this.redis.call(this.redis.client.mget(ids.map((id) => k.heartbeat(id))), 'reading the worker registry');
    return ids.filter((_, i) => alive[i] !== null).map((id) => ({ id, ...(JSON.parse(all[id]!) as { resources: Resources; concurrency: number }) }));
  }

  /** The live workers a batch is judged against; an empty registry may be a Redis that just restarted: workers re-register within a second. */
  async forBatch(): Promise<WorkerInfo[]> {
    let workers = await this.live().catch(() => []);
    for (let i = 0; i < REREGISTER_MS / 250 && workers.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 250));
      workers = await this.live().catch(() => []);
    }
    return workers;
  }

  /** Starts the cluster's workers (it is stopped by `close`) and waits for them to register. */
  async startCluster(cluster: WorkerCluster, timeoutMs: number): Promise<void> {
    this.cluster = cluster;
    const connection = this.redis.connection;
    if (typeof connection !== 'string') throw new BackendError('a cluster needs a Redis URL connection', this.backend);
    this.progress({ detail: `starting ${cluster.size ?? 'its'} workers (${cluster.constructor.name})` });
    await cluster.start(connection, this.prefix);
    await this.waitFor(timeoutMs, cluster.size ?? 1);
  }

  /** Polls the registry until `count` workers are live; `state$` says how many and logs each one. */
  private async waitFor(timeout: number, count: number): Promise<void> {
    const started = Date.now();
    const until = started + timeout;
    const seen = new Set<string>();
    let said = '';
    let live = 0;
    for (;;) {
      const workers = await this.live();
      live = workers.length;
      for (const w of workers) if (!seen.has(w.id) && seen.add(w.id)) this.progress({ log: `worker ${w.id} registered, offers ${JSON.stringify(w.resources)}` });
      const say = `waiting for workers: ${live} of ${count} registered (${Math.floor((Date.now() - started) / 5000) * 5} s of ${Math.round(timeout / 1000)} s)`; // a new line each 5 s
      if (live >= count) break;
      if (say !== said) this.progress({ detail: (said = say) });
      if (Date.now() > until) {
        if (live > 0) {
          this.progress({ log: `${live} of ${count} workers registered within ${timeout} ms: running with them` });
          return;
        }
        throw new BackendError(`no worker registered within ${timeout} ms`, this.backend);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops the workers the backend started (none when it was given only a connection). */
  async close(): Promise<void> {
    await this.cluster?.close();
  }
}
