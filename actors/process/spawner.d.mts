// The protocol of the Node spawner (spawner.mjs, an entry point forked by process-spawner.ts with
// advanced serialization; it has no exports): what the host sends and what it answers. The
// request and result shapes are also what the native spawner (native-spawner.ts) takes and gives.

/** A process to start: the fields of a spawn request that travel to a spawner. */
export interface SpawnOptions {
  file: string;
  args: string[];
  shell?: boolean | string;
  cwd?: string;
  /** merged over the runtime's environment (the last `env` message) */
  env?: Record<string, string>;
  /** ms */
  timeout?: number;
  stdoutFile?: string;
  stderrFile?: string;
  /** fed to stdin (default: stdin ignored) */
  input?: string;
  stdout?: 'pipe' | 'ignore';
  /** 'stdout' merges stderr into stdout */
  stderr?: 'pipe' | 'stdout' | 'ignore';
  /** bytes of each captured stream held in memory (default 8 MiB) */
  maxOutputBytes?: number;
  /** past the cap, the whole stream goes to `<spillPrefix>.stdout` / `.stderr` (else the rest is dropped) */
  spillPrefix?: string;
  /** leave what is left of the process group running when the process exits (default: killed) */
  keepProcessGroup?: boolean;
  /** ms between SIGTERM and SIGKILL on cancel/timeout (default 1000) */
  grace?: number;
}

/** The OS error that kept a process from starting, as plain data (rebuilt by `spawnError`). */
export interface SpawnOsError {
  code: string;
  errno: number;
  syscall: string;
  path: string;
  message: string;
}

export interface Overflow {
  /** bytes the process wrote on the stream */
  bytes: number;
  /** where all of it is (null: past the cap it was dropped) */
  file: string | null;
}

export interface SpawnResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** why we killed it: 'timeout' | 'canceled' | null */
  killed: string | null;
  /** the process could not be started (ENOENT, EACCES, …) */
  error: string | null;
  osError?: SpawnOsError | null;
  /** streams that went over the in-memory cap */
  overflow?: { stdout?: Overflow; stderr?: Overflow } | null;
}

/** Host → spawner: start a process (`id` names it in the replies), set the base environment, kill one. */
export type SpawnerMessage =
  | ({ op: 'run'; id: number } & SpawnOptions & { maxOutputBytes: number })
  | { op: 'env'; env: Readonly<Record<string, string>> }
  | { op: 'kill'; id: number; reason?: 'canceled' | 'timeout' };

/** Spawner → host: ready (once, at start), a process started, a process ended (its result). */
export type SpawnerReply = { ready: true } | { started: number; pid: number } | ({ id: number } & SpawnResult);
