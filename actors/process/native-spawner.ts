import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import type { EnvSnapshot } from './env-snapshot.js';
import { DEFAULT_OUTPUT_CAP, overflowNote } from './output-cap.mjs';
import { SpawnerHost, type SpawnRequest } from './spawner-host.js';
import type { Overflow, SpawnOsError, SpawnResult } from './spawner.mjs';

// request flags and reply codes of the helper's protocol (see native-spawner.c)
const F_STDIN = 1,
  F_OUT_IGNORE = 2,
  F_ERR_IGNORE = 4,
  F_ERR_MERGE = 8,
  F_KEEP_GROUP = 16;
const O_OUT_SPILLED = 1,
  O_ERR_SPILLED = 2;
const KILLED = [null, 'canceled', 'timeout'] as const;
const signalName = new Map(Object.entries(constants.signals).map(([k, v]) => [v as number, k]));
const errnoName = new Map(Object.entries(constants.errno).map(([k, v]) => [v as number, k]));

type Helper = ChildProcessByStdio<Writable, Readable, null>;

/**
 * Host side of the native spawner (`native-spawner.c`, one process for all requests): requests
 * are binary frames on its stdin, replies come on its stdout. The request bookkeeping (a lost
 * helper, re-dispatch, close) is SpawnerHost's.
 */
export class NativeSpawner extends SpawnerHost<Helper> {
  private frames: Buffer[] = [];
  private flushing = false;
  private input: Buffer = Buffer.alloc(0);

  constructor(private readonly binary: string) {
    super('native spawner');
  }

  protected launch(): Helper {
    const child = spawn(this.binary, [], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.frames = [];
    this.input = Buffer.alloc(0);
    child.stdin.on('error', () => undefined); // EPIPE when it died: 'exit' handles that
    return child;
  }

  protected listen(child: Helper, ready: () => void): void {
    child.stdout.on('data', (chunk: Buffer) => {
      if (this.helper === child) this.onData(chunk, ready);
    });
  }

  protected writable(): boolean {
    return true;
  }

  protected sendEnv(_child: Helper, env: EnvSnapshot): void {
    this.send(encodeEnv(env.entries));
  }

  protected sendRun(_child: Helper, id: number, req: SpawnRequest): void {
    this.send(encodeRun(id, req));
  }

  /** SIGTERM to the request's process group, SIGKILL after the grace period. */
  protected sendKill(_child: Helper, id: number, reason: 'canceled' | 'timeout'): void {
    const b = Buffer.allocUnsafe(10);
    b.writeUInt32LE(6, 0);
    b[4] = 0x4b; // K
    b.writeUInt32LE(id, 5);
    b[9] = reason === 'timeout' ? 2 : 1;
    this.send(b);
  }

  /** Closing its stdin makes the helper SIGKILL every running group and exit. */
  protected endInput(child: Helper): void {
    child.stdin.end();
  }

  private onData(chunk: Buffer, ready: () => void): void {
    let buf = this.input.length ? Buffer.concat([this.input, chunk]) : chunk;
    let off = 0;
    while (buf.length - off >= 4) {
      const n = buf.readUInt32LE(off);
      if (buf.length - off - 4 < n) break;
      const op = buf[off + 4];
      const body = off + 5;
      if (op === 0x59 /* Y */) ready();
      else if (op === 0x53 /* S */) this.started(buf.readUInt32LE(body), buf.readUInt32LE(body + 4));
      else if (op === 0x44 /* D */) this.onDone(buf, body);
      off += 4 + n;
    }
    buf = buf.subarray(off);
    this.input = buf.length ? Buffer.from(buf) : Buffer.alloc(0);
  }

  private onDone(b: Buffer, at: number): void {
    const p = this.take(b.readUInt32LE(at));
    if (!p) return;
    const code = b.readInt32LE(at + 4);
    const sig = b.readUInt32LE(at + 8);
    const killed = KILLED[b[at + 12]!] ?? null;
    const errno = b.readUInt32LE(at + 13);
    const stage = b[at + 17]!;
    const flags = b[at + 18]!;
    const outTotal = b.readUInt32LE(at + 19) + b.readUInt32LE(at + 23) * 2 ** 32;
    const errTotal = b.readUInt32LE(at + 27) + b.readUInt32LE(at + 31) * 2 ** 32;
    const outLen = b.readUInt32LE(at + 35);
    let stdout = outLen ? b.toString('utf8', at + 39, at + 39 + outLen) : '';
    const errAt = at + 39 + outLen;
    const errLen = b.readUInt32LE(errAt);
    let stderr = errLen ? b.toString('utf8', errAt + 4, errAt + 4 + errLen) : '';
    const req = p.req;
    if (errno) {
      const osError = osErrorOf(req, errno, stage);
      p.resolve({ exitCode: null, signal: null, stdout: '', stderr: '', killed: null, error: osError.message, osError });
      return;
    }
    const cap = req.maxOutputBytes ?? DEFAULT_OUTPUT_CAP;
    let overflow: SpawnResult['overflow'] = null;
    if (outTotal > outLen) {
      const o: Overflow = { bytes: outTotal, file: flags & O_OUT_SPILLED ? `${req.spillPrefix}.stdout` : null };
      stdout += overflowNote('stdout', o.bytes, cap, o.file);
      overflow = { stdout: o };
    }
    if (errTotal > errLen) {
      const o: Overflow = { bytes: errTotal, file: flags & O_ERR_SPILLED ? `${req.spillPrefix}.stderr` : null };
      stderr += overflowNote('stderr', o.bytes, cap, o.file);
      overflow = { ...overflow, stderr: o };
    }
    p.resolve({ exitCode: code < 0 ? null : code, signal: sig ? (signalName.get(sig) ?? `SIG${sig}`) : null, stdout, stderr, killed, error: null, overflow });
  }

  /** Frames written in one tick go out in one write. */
  private send(frame: Buffer): void {
    this.frames.push(frame);
    if (this.flushing) return;
    this.flushing = true;
    queueMicrotask(() => {
      this.flushing = false;
      const frames = this.frames;
      this.frames = [];
      if (this.helper && frames.length) this.helper.stdin.write(frames.length === 1 ? frames[0]! : Buffer.concat(frames));
    });
  }
}

function osErrorOf(req: SpawnRequest, errno: number, stage: number): SpawnOsError {
  const code = errnoName.get(errno) ?? `E${errno}`;
  const file = req.shell ? shellOf(req.shell) : req.file;
  if (stage === 1) return { code, errno: -errno, syscall: 'chdir', path: req.cwd!, message: `cwd ${req.cwd} cannot be used: ${code}` };
  if (stage === 2 || stage === 3) {
    const path = (stage === 2 ? req.stdoutFile : req.stderrFile)!;
    return { code, errno: -errno, syscall: 'open', path, message: `cannot open ${path}: ${code}` };
  }
  if (stage === 4) return { code, errno: -errno, syscall: 'pipe', path: file, message: `pipe ${code}` };
  return { code, errno: -errno, syscall: `spawn ${file}`, path: file, message: `spawn ${file} ${code}` };
}

function shellOf(shell: boolean | string): string {
  return typeof shell === 'string' ? shell : '/bin/sh';
}

/** Strings are u32 length + UTF-8 bytes. */
class FrameWriter {
  private parts: Array<string | number> = [];
  private size = 5;
  u32(v: number): this {
    this.parts.push(Math.min(Math.max(0, Math.floor(v)), 0xffffffff));
    this.size += 4;
    return this;
  }
  str(s: string): this {
    this.parts.push(s);
    this.size += 4 + Buffer.byteLength(s);
    return this;
  }
  strs(list: readonly string[]): this {
    this.u32(list.length);
    for (const s of list) this.str(s);
    return this;
  }
  build(op: number): Buffer {
    const b = Buffer.allocUnsafe(this.size);
    b.writeUInt32LE(this.size - 4, 0);
    b[4] = op;
    let at = 5;
    for (const p of this.parts) {
      if (typeof p === 'number') {
        b.writeUInt32LE(p, at);
        at += 4;
      } else {
        const n = b.write(p, at + 4, 'utf8');
        b.writeUInt32LE(n, at);
        at += 4 + n;
      }
    }
    return b;
  }
}

function encodeEnv(entries: readonly string[]): Buffer {
  return new FrameWriter().strs(entries).build(0x45); // E
}

function encodeRun(id: number, req: SpawnRequest): Buffer {
  // a shell runs the command line as execa builds it: file and arguments joined by spaces
  const argv = req.shell ? [shellOf(req.shell), '-c', [req.file, ...req.args].join(' ')] : [req.file, ...req.args];
  let flags = 0;
  if (req.input !== undefined) flags |= F_STDIN;
  if (req.stdout === 'ignore') flags |= F_OUT_IGNORE;
  if (req.stderr === 'ignore') flags |= F_ERR_IGNORE;
  if (req.stderr === 'stdout') flags |= F_ERR_MERGE;
  if (req.keepProcessGroup) flags |= F_KEEP_GROUP;
  const env = req.env ? Object.entries(req.env).map(([k, v]) => `${k}=${v}`) : [];
  return new FrameWriter()
    .u32(id)
    .u32(flags)
    .u32(req.timeout ?? 0)
    .u32(req.grace ?? 1000)
    .u32(Math.min(req.maxOutputBytes ?? DEFAULT_OUTPUT_CAP, 0xffffffff))
    .str(argv[0]!)
    .str(req.cwd ?? '')
    .str(req.stdoutFile ?? '')
    .str(req.stderrFile ?? '')
    .str(req.spillPrefix ?? '')
    .strs(argv)
    .strs(env)
    .str(req.input ?? '')
    .build(0x52); // R
}
