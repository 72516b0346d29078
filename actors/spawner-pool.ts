import { availableParallelism } from 'node:os';
import { ProcessSpawner, type SpawnRequest, type SpawnResult } from './process-spawner.js';

/**
 * A few spawner processes sharing the work: execa's per-process bookkeeping is JavaScript, so one
 * spawner tops out at one core; requests go to the least-loaded spawner.
 */
export class SpawnerPool {
  private readonly spawners: ProcessSpawner[];

  constructor(size = Math.min(2, availableParallelism())) {
    this.spawners = Array.from({ length: Math.max(1, size) }, () => new ProcessSpawner());
  }

  async start(): Promise<void> {
    await Promise.all(this.spawners.map((s) => s.start()));
  }

  run(req: SpawnRequest, onKillable?: (kill: (reason?: 'canceled' | 'timeout') => void) => void): Promise<SpawnResult> {
    let best = this.spawners[0]!;
    for (const s of this.spawners) if (s.load < best.load) best = s;
    return best.run(req, onKillable);
  }

  /** pids of the live spawner processes (for leak checks). */
  get pids(): number[] {
    return this.spawners.map((s) => s.pid).filter((p): p is number => p !== undefined);
  }

  async close(): Promise<void> {
    await Promise.all(this.spawners.map((s) => s.close()));
  }
}
