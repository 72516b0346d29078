// The spawner: a small, long-lived Node process that starts executables with execa for the host.
// fork() copies the page tables of the forking process, so spawning from a host that holds a large
// heap gets slower as it grows; this process stays small, so its spawn rate does not.
// Each process gets its own process group, so a cancel or timeout kills grandchildren too.
import { execa } from 'execa';

const GRACE_MS = 1000;
const running = new Map(); // id → { sub, pid, killed, timer }

function killGroup(entry, signal) {
  if (!entry.pid) return;
  try {
    process.kill(-entry.pid, signal);
  } catch {}
}

function stop(entry, reason) {
  if (entry.killed) return;
  entry.killed = reason;
  killGroup(entry, 'SIGTERM');
  entry.force = setTimeout(() => killGroup(entry, 'SIGKILL'), GRACE_MS);
}

async function run(req) {
  const stdout = req.stdoutFile ? { file: req.stdoutFile } : req.stdout === 'ignore' ? 'ignore' : 'pipe';
  const stderr = req.stderrFile ? { file: req.stderrFile } : req.stderr === 'ignore' ? 'ignore' : 'pipe';
  const entry = { pid: 0, killed: null, timer: null, force: null };
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
      env: req.env,
      stripFinalNewline: false,
    });
  } catch (err) {
    running.delete(req.id);
    return reply({ id: req.id, exitCode: null, signal: null, stdout: '', stderr: '', error: String(err?.message ?? err) });
  }
  entry.pid = sub.pid ?? 0;
  const out = collect(sub.stdout);
  // stderr 'stdout': both streams into one buffer, in arrival order
  const err = req.stderr === 'stdout' ? collect(sub.stderr, out) : collect(sub.stderr);
  if (req.timeout) entry.timer = setTimeout(() => stop(entry, 'timeout'), req.timeout);
  const r = await sub;
  if (entry.timer) clearTimeout(entry.timer);
  // a canceled or timed-out task takes its whole group down, grandchildren included
  if (entry.killed) killGroup(entry, 'SIGKILL');
  if (entry.force) clearTimeout(entry.force);
  running.delete(req.id);
  reply({
    id: req.id,
    exitCode: r.exitCode ?? null,
    signal: r.signal ?? null,
    stdout: out.text(),
    stderr: err.text(),
    killed: entry.killed,
    error: r.exitCode === undefined && !r.signal ? r.originalMessage || r.shortMessage : null,
  });
}

function collect(stream, into) {
  const chunks = into ? into.chunks : [];
  stream?.on('data', (c) => chunks.push(c));
  return { chunks, text: () => (into || !chunks.length ? '' : Buffer.concat(chunks).toString('utf8')) };
}

function reply(msg) {
  if (process.connected) process.send(msg);
}

process.on('message', (msg) => {
  if (msg.op === 'run') void run(msg);
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
process.send({ ready: true });
