import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import { assetUrl } from '../assets.js';
import type { CheckpointAck, CheckpointBatch, CheckpointWorkerData } from './checkpoint-worker.mjs';

const BATCH = 16_384;

/**
 * Appends JSON lines to a file from a worker thread. Records are kept as columns and handed over
 * in batches; task lines are assembled by the worker, so a task event costs the session a few array
 * pushes. Memory is bounded by the batches in flight (acknowledged by the worker).
 */
export class CheckpointWriter {
  private worker: Worker | null = null;
  // the batch being filled: one slot per record (code 0 = a whole line from `raws`)
  private n = 0;
  private codes = new Uint8Array(BATCH);
  private times = new Float64Array(BATCH);
  private backends = new Uint16Array(BATCH);
  private uidText = '';
  private raws: string[] = [];
  private extraAt: number[] = [];
  private extras: string[] = [];
  /** line starts by code (index 0 unused) and line ends by backend index */
  private readonly heads: string[] = [''];
  private readonly tails: string[] = [];
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

  /** Registers the start of a task line (ends with `"t":`); returns its code. */
  defineHead(head: string): number {
    return this.heads.push(head) - 1;
  }

  /** Registers the end of a task line (`,"backend":"x"}`); returns its index. */
  defineTail(tail: string): number {
    return this.tails.push(tail) - 1;
  }

  /** Creates/truncates the file (rejecting with the OS error when it cannot be written), starts the writer. */
  async open(): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    await (await open(this.path, 'w')).close();
    const worker = new Worker(assetUrl('telemetry/checkpoint-worker.mjs'), { workerData: { path: this.path } satisfies CheckpointWorkerData });
    worker.on('message', (m: CheckpointAck) => {
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
    if (this.failed || !this.worker) return;
    this.raws.push(line);
    this.codes[this.n++] = 0;
    if (this.n === BATCH) this.post();
  }

  /**
   * A task event, written as `${head}${t},"uid":"${uid}"${tail}`; `extra` (a terminal event's
   * `,"exitCode":…}`) replaces the tail's closing brace.
   */
  appendTask(head: number, t: number, uid: string, tail: number, extra?: string): void {
    if (this.failed || !this.worker) return;
    const i = this.n++;
    this.codes[i] = head;
    this.times[i] = t;
    this.backends[i] = tail;
    this.uidText = i === 0 || this.uidText === '' ? uid : `${this.uidText}\n${uid}`;
    if (extra !== undefined) {
      this.extraAt.push(i);
      this.extras.push(extra);
    }
    if (this.n === BATCH) this.post();
  }

  private post(): void {
    if (!this.worker || this.failed || this.n === 0) return;
    this.worker.ref(); // until this batch is written
    const batch: CheckpointBatch = {
      n: this.n,
      codes: this.codes,
      times: this.times,
      backends: this.backends,
      uidText: this.uidText,
      raws: this.raws,
      extraAt: this.extraAt,
      extras: this.extras,
      heads: this.heads,
      tails: this.tails,
      seq: ++this.seq,
    };
    this.worker.postMessage(batch, [this.codes.buffer, this.times.buffer, this.backends.buffer]);
    this.n = 0;
    this.codes = new Uint8Array(BATCH);
    this.times = new Float64Array(BATCH);
    this.backends = new Uint16Array(BATCH);
    this.uidText = '';
    this.raws = [];
    this.extraAt = [];
    this.extras = [];
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
