/**
 * The runtime's environment as one immutable snapshot, taken when tasks are submitted: later
 * changes to `process.env` reach later tasks (as Python's `os.environ` reaches each new
 * subprocess). Equal snapshots share one object, so a spawner re-sends the environment only when
 * it changed (reading `process.env` costs ~30 µs: once per submitted batch, not per process).
 */
export interface EnvSnapshot {
  readonly version: number;
  /** `KEY=value` entries */
  readonly entries: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

let last: (EnvSnapshot & { key: string }) | null = null;

export function envSnapshot(): EnvSnapshot {
  const entries: string[] = [];
  const env: Record<string, string> = {};
  const source = process.env;
  for (const k in source) {
    const v = source[k];
    if (v === undefined) continue;
    env[k] = v;
    entries.push(`${k}=${v}`);
  }
  const key = entries.join('\0');
  if (last?.key === key) return last;
  last = { version: (last?.version ?? 0) + 1, entries, env, key };
  return last;
}
