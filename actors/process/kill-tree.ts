import type { ChildProcess } from 'node:child_process';

/**
 * The one SIGTERM → SIGKILL grace period (ms) of the runtime: spawned tasks, services, workers and
 * spawners all get it. `RHAPSODY_KILL_GRACE_MS` sets it (it reaches the spawner processes too).
 */
export const KILL_GRACE_MS = graceFromEnv(process.env.RHAPSODY_KILL_GRACE_MS);

export function graceFromEnv(value: string | undefined): number {
  const ms = Number(value);
  return value !== undefined && Number.isFinite(ms) && ms >= 0 ? ms : 3000;
}

/** Resolves once the child has exited (on the next tick, so its 'exit' listeners ran). */
export function processGone(child: ChildProcess): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = () => setTimeout(resolve, 0);
    if (child.exitCode !== null || child.signalCode !== null) done();
    else child.once('exit', done);
  });
}

/** Sends a signal to a whole process group; false if it is gone. */
export function signalGroup(pid: number | undefined, signal: NodeJS.Signals): boolean {
  if (!pid) return false;
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops a child started in its own process group and everything in that group: SIGTERM, SIGKILL
 * after the grace period, then SIGKILL to whatever the leader left behind. Resolves when it is gone.
 */
export async function killTree(child: ChildProcess, graceMs = KILL_GRACE_MS): Promise<void> {
  const gone = processGone(child);
  if (!signalGroup(child.pid, 'SIGTERM')) child.kill('SIGTERM');
  const force = setTimeout(() => signalGroup(child.pid, 'SIGKILL') || child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(force);
  signalGroup(child.pid, 'SIGKILL');
}
