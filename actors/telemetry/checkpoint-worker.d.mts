// The protocol of the checkpoint worker (checkpoint-worker.mjs, a worker thread entry with no
// exports) that checkpoint-writer.ts starts and feeds.

/** `workerData`: the file the lines are appended to. */
export interface CheckpointWorkerData {
  path: string;
}

/**
 * One batch of records as columns (the typed arrays are transferred). Record i is a whole line
 * `raws[r]` when `codes[i]` is 0, else the task line `${heads[codes[i]]}${times[i]},"uid":"…"${tails[backends[i]]}`,
 * its uid the next line of `uidText`; where `extraAt` names i, the next `extras` entry replaces the tail's closing brace.
 */
export interface CheckpointBatch {
  n: number;
  codes: Uint8Array;
  times: Float64Array;
  backends: Uint16Array;
  uidText: string;
  raws: string[];
  extraAt: number[];
  extras: string[];
  heads: string[];
  tails: string[];
  seq: number;
}

/** Worker → writer, once per batch: written up to `seq`; `error` once, when writing failed (later batches are dropped). */
export interface CheckpointAck {
  seq: number;
  error?: string;
}
