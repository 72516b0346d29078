import { availableParallelism } from 'node:os';
import { BackendError } from '../../src/errors.js';
import { assetPath } from '../assets.js';
import { buildNativeSpawner } from './native-build.mjs';
import { NativeSpawner } from './native-spawner.js';
import { ProcessSpawner } from './process-spawner.js';
import type { KillFn, SpawnRequest, Spawner } from './spawner-host.js';
import type { SpawnResult } from './spawner.mjs';

export type SpawnerKind = 'native' | 'node';

export interface SpawnerPoolOptions {
  /** 'native' (posix_spawn helper), 'node' (execa in Node processes); default native where it builds, else node */
  kind?: SpawnerKind;
  /** Node spawner processes (default min(2, cores)); the native helper is always one process */
  size?: number;
  /** defaults applied to every request */
  defaults?: Pick<SpawnRequest, 'maxOutputBytes' | 'keepProcessGroup'>;
}

let warned = false;

/**
 * The spawner(s) a backend starts executables with. The native helper is one C process with many
 * processes in flight; the Node spawner is a few Node processes sharing the work (execa's
 * per-process bookkeeping is JavaScript, so one tops out at one core): requests go to the least loaded.
 */
export class SpawnerPool {
  private spawners: Spawner[] = [];
  private resolved: SpawnerKind | null = null;
  private why: string | null = null;

  constructor(private readonly options: SpawnerPoolOptions = {}) {
    const env = process.env.RHAPSODY_SPAWNER;
    if (options.kind === undefined && (env === 'native' || env === 'node')) this.options = { ...options, kind: env };
  }

  /** Which spawner runs processes (after start), and why the Node one where native was not chosen. */
  get kind(): SpawnerKind | null {
    return this.resolved;
  }
  get fallbackReason(): string | null {
    return this.why;
  }

  async start(): Promise<void> {
    if (!this.resolved) await this.choose();
    await Promise.all(this.spawners.map((s) => s.start()));
  }

  private async choose(): Promise<void> {
    const want = this.options.kind;
    if (want !== 'node') {
      const built = await buildNativeSpawner(assetPath('process/native-spawner.c'));
      if (built.path) {
        this.resolved = 'native';
        this.spawners = [new NativeSpawner(built.path)];
        return;
      }
      if (want === 'native') throw new BackendError(`spawner 'native' is not available: ${built.reason}`);
      this.why = built.reason ?? 'unknown';
      if (!warned) {
        warned = true;
        process.emitWarning(`rhapsody: the native spawner could not be built (${built.reason}); executables are started by the Node spawner`, { code: 'RHAPSODY_SPAWNER' });
      }
    }
    this.resolved = 'node';
    const size = this.options.size ?? Math.min(2, availableParallelism());
    this.spawners = Array.from({ length: Math.max(1, size) }, () => new ProcessSpawner());
  }

  async run(req: SpawnRequest, onKillable?: (kill: KillFn) => void): Promise<SpawnResult> {
    if (!this.resolved) await this.start();
    let best = this.spawners[0]!;
    for (const s of this.spawners) if (s.load < best.load) best = s;
    const d = this.options.defaults;
    return best.run(d ? { ...d, ...definedOnly(req) } : req, onKillable);
  }

  /** pids of the live spawner processes (for leak checks). */
  get pids(): number[] {
    return this.spawners.map((s) => s.pid).filter((p): p is number => p !== undefined);
  }

  async close(): Promise<void> {
    await Promise.all(this.spawners.map((s) => s.close()));
  }
}

function definedOnly<T extends object>(o: T): T {
  const out = {} as T;
  for (const k in o) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
