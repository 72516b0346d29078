import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';

const BATCH = 16_384;

/**
 * Appends JSON lines to a file from a worker thread. Records are kept as columns and handed over
 * in batches; task lines are assembled by the worker, so a task event costs the session a few array
 * pushes. Memory is bounded by the batches in flight (acknowledged by the worker).
 */
export class CheckpointWriter {
  private worker: Worker | null = null;
  private heads: string[] = [];
  private times: number[] = [];
  private uids: (string | null)[] = [];
  private tails: (string | null)[] = [];
  private timer: NodeJS.Timeout | null = null;
  private seq = 0;
  private acked = 0;
  private waiters: Array<{ seq: number; resolve: () => void }> = [];
  failed: Error | null = null;

  constructor(
    readonly path: string,
    private readonly intervalMs: number,
    private readonly onError: (err: Error) => void,
  ) {}

  /** Creates/truncates the file (rejecting with the OS error when it cannot be written), starts the writer. */
  async open(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    await (await open(this.path, 'w')).close();
    const worker = new Worker(new URL('./checkpoint-worker.mjs', import.meta.url), { workerData: { path: this.path } });
    worker.on('message', (m: { seq?: number; error?: string }) => {
      if (m.error && !this.failed) {
        this.failed = new Error(m.error);
        this.onError(this.failed);
      }
      if (m.seq !== undefined) {
        this.acked = m.seq;
        if (this.acked >= this.seq) worker.unref(); // idle: do not hold the process open
        this.waiters = this.waiters.filter((w) => (w.seq <= this.acked ? (w.resolve(), false) : true));
      }
    });
    worker.on('error', (err) => {
      if (!this.failed) {
        this.failed = err;
        this.onError(err);
      }
      for (const w of this.waiters.splice(0)) w.resolve();
    });
    worker.unref();
    this.worker = worker;
    this.timer = setInterval(() => this.post(), this.intervalMs);
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
    if (this.failed || !this.worker) return;
    this.heads.push(head);
    this.times.push(t);
    this.uids.push(uid);
    this.tails.push(tail);
    if (this.heads.length >= BATCH) this.post();
  }

  private post(): void {
    if (!this.worker || this.failed || this.heads.length === 0) return;
    this.worker.ref(); // until this batch is written
    this.worker.postMessage({ heads: this.heads, times: this.times, uids: this.uids, tails: this.tails, seq: ++this.seq });
    this.heads = [];
    this.times = [];
    this.uids = [];
    this.tails = [];
  }

  /** Hands over what is buffered and resolves once the worker has written it. */
  flush(): Promise<void> {
    this.post();
    if (this.failed || this.acked >= this.seq) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ seq: this.seq, resolve }));
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.flush();
    const worker = this.worker;
    this.worker = null;
    if (worker) await worker.terminate();
  }
}
