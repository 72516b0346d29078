// @ts-check
// The Node spawner: a small, long-lived Node process that starts executables with execa for the host
// (used where the native spawner is not built, or with `spawner: 'node'`).
// fork() copies the page tables of the forking process, so spawning from a host that holds a large
// heap gets slower as it grows; this process stays small, so its spawn rate does not.
// Each process gets its own process group, so a cancel or timeout kills grandchildren too; when the
// process exits, what is left of its group is killed as well (unless the request keeps it).
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { execa } from 'execa';
import { overflowNote } from './output-cap.mjs';

// The messages it takes and sends are declared in spawner.d.mts (what process-spawner.ts imports).
/** @import { Readable } from 'node:stream' */
/** @import { WriteStream } from 'node:fs' */
/** @import { Overflow, SpawnerMessage, SpawnerReply, SpawnOsError } from './spawner.mjs' */
/** @typedef {Extract<SpawnerMessage, { op: 'run' }>} RunRequest */
/**
 * A process this spawner started. `killed`: why we stopped it (null: we did not).
 * @typedef {{ pid: number; killed: string | null; exited: boolean; timer: NodeJS.Timeout | null; force: NodeJS.Timeout | null; grace: number }} Entry
 */
/**
 * One captured stream: `push` takes a chunk (another stream merged into this one), `done` gives the
 * text and, past the cap, where the rest went.
 * @typedef {{ push(c: Buffer): void; done(): Promise<{ text: string; overflow: Overflow | undefined }> }} Collector
 */

const DRAIN_MS = 100; // after the main process exited, how long a kept leftover may hold its pipes
/** @type {Map<number, Entry>} */
const running = new Map();
/** @type {Readonly<Record<string, string>>} */
let baseEnv = {};

/**
 * @param {Entry} entry
 * @param {NodeJS.Signals} signal
 */
function killGroup(entry, signal) {
  if (!entry.pid) return;
  try {
    process.kill(-entry.pid, signal);
  } catch {}
}

/**
 * @param {Entry} entry
 * @param {string} reason
 */
function stop(entry, reason) {
  if (entry.killed || entry.exited) return;
  entry.killed = reason;
  killGroup(entry, 'SIGTERM');
  entry.force = setTimeout(() => killGroup(entry, 'SIGKILL'), entry.grace);
}

/**
 * The OS error that kept the process from starting, from execa's result.
 * @param {RunRequest} req
 * @param {import('execa').Result} r
 * @returns {SpawnOsError}
 */
function osError(req, r) {
  const c = /** @type {Partial<NodeJS.ErrnoException>} */ (r.cause ?? {});
  const badCwd = /The "cwd" option is invalid/.test(r.originalMessage ?? '');
  return {
    code: String(c.code ?? r.code ?? 'UNKNOWN'),
    errno: typeof c.errno === 'number' ? c.errno : 0,
    syscall: badCwd ? 'chdir' : String(c.syscall ?? `spawn ${req.file}`),
    // execa reports an invalid cwd only for one that was given
    path: badCwd ? /** @type {string} */ (req.cwd) : req.file,
    message: badCwd ? `cwd ${req.cwd} cannot be used: ${c.code ?? r.code}` : String(c.message ?? r.originalMessage ?? r.shortMessage),
  };
}

/** @param {RunRequest} req */
async function run(req) {
  const stdout = req.stdoutFile ? { file: req.stdoutFile } : req.stdout === 'ignore' ? 'ignore' : 'pipe';
  const stderr = req.stderrFile ? { file: req.stderrFile } : req.stderr === 'ignore' ? 'ignore' : 'pipe';
  /** @type {Entry} */
  const entry = { pid: 0, killed: null, exited: false, timer: null, force: null, grace: req.grace ?? 1000 };
  running.set(req.id, entry);
  let sub;
  try {
    sub = execa(req.file, req.args, {
      reject: false,
      // collecting output here is ~20% cheaper per process than execa's buffering
      buffer: false,
      ...(req.input !== undefined ? { input: req.input } : { stdin: 'ignore' }),
      stdout,
      stderr,
      cleanup: false,
      detached: true,
      shell: req.shell ?? false,
      cwd: req.cwd,
      // the runtime's environment when the task was submitted, with the task's own over it
      env: req.env ? { ...baseEnv, ...req.env } : baseEnv,
      extendEnv: false,
      stripFinalNewline: false,
    });
  } catch (err) {
    running.delete(req.id);
    return reply({ id: req.id, exitCode: null, signal: null, stdout: '', stderr: '', killed: null, error: String(/** @type {Error | undefined} */ (err)?.message ?? err) });
  }
  entry.pid = sub.pid ?? 0;
  if (entry.pid) reply({ started: req.id, pid: entry.pid });
  const cap = req.maxOutputBytes;
  const out = collect(sub.stdout, 'stdout', cap, req.spillPrefix);
  // stderr 'stdout': both streams into one buffer, in arrival order
  const err = req.stderr === 'stdout' ? collect(sub.stderr, 'stderr', cap, req.spillPrefix, out) : collect(sub.stderr, 'stderr', cap, req.spillPrefix);
  if (req.timeout) entry.timer = setTimeout(() => stop(entry, 'timeout'), req.timeout);
  sub.once('exit', () => {
    entry.exited = true;
    // a finished task's leftovers (`cmd &`) go with it, as SLURM does for a step
    if (entry.killed || !req.keepProcessGroup) killGroup(entry, 'SIGKILL');
    else
      setTimeout(() => {
        sub.stdout?.destroy();
        sub.stderr?.destroy();
      }, DRAIN_MS).unref();
  });
  const r = await sub;
  if (entry.timer) clearTimeout(entry.timer);
  if (entry.force) clearTimeout(entry.force);
  running.delete(req.id);
  const [o, e] = await Promise.all([out.done(), err.done()]);
  const failed = r.exitCode === undefined && !r.signal;
  reply({
    id: req.id,
    exitCode: r.exitCode ?? null,
    signal: r.signal ?? null,
    stdout: o.text,
    stderr: e.text,
    killed: entry.killed,
    // execa gives a failed result a message
    error: failed ? /** @type {string} */ (r.originalMessage || r.shortMessage) : null,
    osError: failed && entry.pid === 0 ? osError(req, r) : null,
    overflow: o.overflow || e.overflow ? { stdout: o.overflow, stderr: e.overflow } : null,
  });
}

/**
 * Keeps the first `cap` bytes; past that, the whole stream goes to `<spillPrefix>.<name>`.
 * @param {Readable | null | undefined} stream
 * @param {'stdout' | 'stderr'} name
 * @param {number} cap
 * @param {string | undefined} spillPrefix
 * @param {Collector} [into] merge into this one instead
 * @returns {Collector}
 */
function collect(stream, name, cap, spillPrefix, into) {
  if (into) {
    stream?.on('data', (c) => into.push(c));
    return { push: () => undefined, done: async () => ({ text: '', overflow: undefined }) };
  }
  /** @type {Buffer[]} */
  const chunks = [];
  let held = 0;
  let total = 0;
  /** @type {WriteStream | null} */
  let spill = null;
  /** @type {string | null} */
  let file = null;
  /** @param {Buffer} c */
  const push = (c) => {
    total += c.length;
    if (!spill && held + c.length > cap && spillPrefix && file === null) {
      file = `${spillPrefix}.${name}`;
      try {
        mkdirSync(dirname(file), { recursive: true });
        spill = createWriteStream(file);
        spill.on('error', () => undefined);
        for (const h of chunks) spill.write(h);
      } catch {
        file = '';
      }
    }
    // the pipe waits while the file catches up, so nothing piles up here
    if (spill && !spill.write(c) && stream) {
      stream.pause();
      spill.once('drain', () => stream.resume());
    }
    if (held < cap) {
      const keep = c.length <= cap - held ? c : c.subarray(0, cap - held);
      chunks.push(keep);
      held += keep.length;
    }
  };
  stream?.on('data', push);
  return {
    push,
    done: async () => {
      if (spill) await new Promise((resolve) => /** @type {WriteStream} */ (spill).end(resolve));
      const text = chunks.length ? Buffer.concat(chunks).toString('utf8') : '';
      if (total <= cap) return { text, overflow: undefined };
      const where = spill ? file : null;
      return { text: text + overflowNote(name, total, cap, where), overflow: { bytes: total, file: where } };
    },
  };
}

/**
 * `process.send`, called as a method; process-spawner.ts forks this file with an IPC channel, so it exists.
 * @typedef {(msg: SpawnerReply) => boolean} Send
 */

/** @param {SpawnerReply} msg */
function reply(msg) {
  if (process.connected) /** @type {Send} */ (process.send)(msg);
}

process.on('message', (message) => {
  const msg = /** @type {SpawnerMessage} */ (message);
  if (msg.op === 'run') void run(msg);
  else if (msg.op === 'env') baseEnv = msg.env;
  else if (msg.op === 'kill') {
    const entry = running.get(msg.id);
    if (entry) stop(entry, msg.reason ?? 'canceled');
  }
});

// the host is gone: take every running group down with us
process.on('disconnect', () => {
  for (const entry of running.values()) killGroup(entry, 'SIGKILL');
  process.exit(0);
});
// a signal to our process group (a worker cluster closing its worker, Ctrl-C) would otherwise
// orphan the groups we started, each in its own group: take them down too
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
  process.on(signal, () => {
    for (const entry of running.values()) killGroup(entry, 'SIGKILL');
    process.exit(0);
  });
}
/** @type {Send} */ (process.send)({ ready: true });
