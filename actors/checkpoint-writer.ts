import { open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { mkdir } from 'node:fs/promises';

/**
 * Appends JSON lines to a file in batches. Lines are buffered as strings and written by one
 * `write` per flush; while a write is in flight new lines wait for the next one, so memory is
 * bounded by what arrives during one write.
 */
export class CheckpointWriter {
  private handle: FileHandle | null = null;
  // columns of pending records; a record is either a whole line (head set, rest null) or a task
  // event whose line is built at flush time, off the task's hot path
  private heads: string[] = [];
  private times: number[] = [];
  private uids: (string | null)[] = [];
  private tails: (string | null)[] = [];
  private writing: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  failed: Error | null = null;

  constructor(
    readonly path: string,
    private readonly intervalMs: number,
    private readonly onError: (err: Error) => void,
  ) {}

  /** Opens (creates/truncates) the file; rejects with the OS error when it cannot be written. */
  async open(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    this.handle = await open(this.path, 'w');
    this.timer = setInterval(() => void this.flush(), this.intervalMs);
    this.timer.unref();
  }

  append(line: string): void {
    this.push(line, 0, null, null);
  }

  /** A task event: written as `${head}${t},"uid":"${uid}"${tail}` (head ends with `"t":`). */
  appendTask(head: string, t: number, uid: string, tail: string): void {
    this.push(head, t, uid, tail);
  }

  private push(head: string, t: number, uid: string | null, tail: string | null): void {
    if (this.failed || !this.handle) return;
    this.heads.push(head);
    this.times.push(t);
    this.uids.push(uid);
    this.tails.push(tail);
    if (this.heads.length === 16384 && !this.writing) void this.flush();
  }

  private takeChunk(): string {
    const { heads, times, uids, tails } = this;
    let chunk = '';
    for (let i = 0; i < heads.length; i++) {
      const uid = uids[i];
      chunk += uid === null ? `${heads[i]}\n` : `${heads[i]}${times[i]},"uid":"${uid}"${tails[i]}\n`;
    }
    this.heads = [];
    this.times = [];
    this.uids = [];
    this.tails = [];
    return chunk;
  }

  /** Writes what is buffered (one write at a time); resolves when it is handed to the OS. */
  flush(): Promise<void> {
    if (this.writing) return this.writing.then(() => this.flush());
    if (!this.handle || this.failed || this.heads.length === 0) return Promise.resolve();
    const chunk = this.takeChunk();
    this.writing = this.handle.write(chunk).then(
      () => {
        this.writing = null;
        if (this.heads.length >= 16384) void this.flush();
      },
      (err: Error) => {
        this.writing = null;
        this.failed = err;
        this.takeChunk();
        this.onError(err);
      },
    );
    return this.writing;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
    await this.handle?.close().catch(() => undefined);
    this.handle = null;
  }
}
