import { spawn, type ChildProcess } from 'node:child_process';
import { killTree } from '../process/kill-tree.js';

export interface ServiceLaunch {
  /** argv: the server command, already prefixed by its launcher (srun …) */
  argv: string[];
  env?: Record<string, string>;
  /** GET this until it answers 200 */
  healthUrl: string;
  /** ms to wait for health (default 600,000: real models take minutes to load) */
  startTimeoutMs?: number;
  /** each line the server writes (stdout and stderr), for as long as it runs */
  onLine?: (line: string) => void;
}

/** A launched server process with the tail of its output (for errors). */
export interface ServiceHandle {
  pid: number | undefined;
  child: ChildProcess;
  log: () => string;
}

/**
 * Starts the server in its own process group and resolves once its health URL answers 200. It
 * rejects (and kills the group) when the process exits first, the deadline passes, or `signal`
 * aborts — so a launch never leaves a server behind.
 */
export async function launchService(launch: ServiceLaunch, signal: AbortSignal): Promise<ServiceHandle> {
  const [file, ...args] = launch.argv;
  const child = spawn(file!, args, { env: { ...process.env, ...launch.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let tail = '';
  const keep = (d: Buffer) => (tail = (tail + d.toString()).slice(-4000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  if (launch.onLine) {
    const onLine = launch.onLine;
    for (const stream of [child.stdout!, child.stderr!]) {
      let partial = '';
      stream.on('data', (d: Buffer) => {
        const lines = (partial + d.toString()).split(/\r?\n|\r/);
        partial = lines.pop()!;
        for (const line of lines) if (line.trim()) onLine(line);
      });
    }
  }
  const handle: ServiceHandle = { pid: child.pid, child, log: () => tail };
  let exited: string | null = null;
  child.once('error', (err) => (exited = `cannot run ${file}: ${err.message}`));
  child.once('exit', (code, sig) => (exited ??= `exited (${sig ?? code}) before it was healthy`));
  const until = Date.now() + (launch.startTimeoutMs ?? 600_000);
  try {
    for (;;) {
      if (signal.aborted) throw new Error('launch canceled');
      if (exited) throw new Error(`${exited}: ${tail.trim().split('\n').slice(-5).join(' | ')}`);
      if (Date.now() > until) throw new Error(`not healthy within ${launch.startTimeoutMs ?? 600_000} ms: ${tail.trim().split('\n').slice(-3).join(' | ')}`);
      const ok = await fetch(launch.healthUrl, { signal: AbortSignal.timeout(2000) }).then(
        (r) => (r.body?.cancel(), r.ok),
        () => false,
      );
      if (ok) return handle;
      await new Promise((r) => setTimeout(r, 150));
    }
  } catch (err) {
    await stopService(handle);
    throw err;
  }
}

/** Calls back once when the server process exits. Returns the unsubscribe. */
export function watchService(handle: ServiceHandle, onExit: (reason: string) => void): () => void {
  const child = handle.child;
  const listener = (code: number | null, sig: string | null) => onExit(`exited (${sig ?? code}): ${handle.log().trim().split('\n').slice(-3).join(' | ')}`);
  if (child.exitCode !== null || child.signalCode !== null) {
    queueMicrotask(() => onExit(`exited (${child.signalCode ?? child.exitCode})`));
    return () => undefined;
  }
  child.once('exit', listener);
  return () => child.off('exit', listener);
}

/** Stops the service and its whole process group (the runtime's kill-tree); resolves when it is gone. */
export async function stopService(handle: ServiceHandle | null): Promise<void> {
  if (handle) await killTree(handle.child);
}
