import { fork, type ChildProcess } from 'node:child_process';
import { assetUrl } from '../assets.js';
import type { EnvSnapshot } from './env-snapshot.js';
import { DEFAULT_OUTPUT_CAP } from './output-cap.mjs';
import { SpawnerHost, type SpawnRequest } from './spawner-host.js';
import type { SpawnerMessage, SpawnerReply } from './spawner.mjs';

export type { Overflow, SpawnOsError, SpawnResult } from './spawner.mjs';
export { MAX_DISPATCH, spawnError, type KillFn, type SpawnRequest, type Spawner } from './spawner-host.js';
export { processGone } from './kill-tree.js';

/**
 * Host side of the Node spawner process (`spawner.mjs`): requests and replies travel as IPC
 * messages. The request bookkeeping (a lost spawner, re-dispatch, close) is SpawnerHost's.
 */
export class ProcessSpawner extends SpawnerHost<ChildProcess> {
  constructor() {
    super('process spawner');
  }

  protected launch(): ChildProcess {
    return fork(assetUrl('process/spawner.mjs'), [], {
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: ['--max-old-space-size=256'],
    });
  }

  protected listen(child: ChildProcess, ready: () => void): void {
    child.on('message', (msg: SpawnerReply) => {
      if ('ready' in msg) return ready();
      if ('started' in msg) return this.started(msg.started, msg.pid);
      this.take(msg.id)?.resolve(msg);
    });
  }

  protected writable(child: ChildProcess): boolean {
    return child.connected;
  }

  protected sendEnv(child: ChildProcess, env: EnvSnapshot): void {
    child.send({ op: 'env', env: env.env } satisfies SpawnerMessage);
  }

  protected sendRun(child: ChildProcess, id: number, { baseEnv, ...req }: SpawnRequest): void {
    child.send({ op: 'run', id, ...req, maxOutputBytes: req.maxOutputBytes ?? DEFAULT_OUTPUT_CAP } satisfies SpawnerMessage);
  }

  protected sendKill(child: ChildProcess, id: number, reason: 'canceled' | 'timeout'): void {
    child.send({ op: 'kill', id, reason } satisfies SpawnerMessage);
  }

  /** Disconnecting makes the spawner SIGKILL every running group before it exits. */
  protected endInput(child: ChildProcess): void {
    if (child.connected) child.disconnect();
  }
}
