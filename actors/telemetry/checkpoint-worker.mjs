// @ts-check
// Writes telemetry checkpoint lines off the main thread. A batch arrives as columns (typed arrays,
// one newline-joined string of uids, tables of line heads and tails); task lines are assembled
// here, so the session's hot path only stores a few numbers per event. The messages are declared in
// checkpoint-worker.d.mts (what checkpoint-writer.ts imports).
import { openSync, writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

/** @import { MessagePort } from 'node:worker_threads' */
/** @import { CheckpointAck, CheckpointBatch, CheckpointWorkerData } from './checkpoint-worker.mjs' */

// started by checkpoint-writer.ts as a Worker, so there is a parent port
const port = /** @type {MessagePort} */ (parentPort);
const fd = openSync(/** @type {CheckpointWorkerData} */ (workerData).path, 'a');
let failed = false;

/** @param {CheckpointBatch} batch */
function write(batch) {
  const { n, codes, times, backends, uidText, raws, extraAt, extras, heads, tails } = batch;
  const uids = uidText.split('\n');
  let chunk = '';
  let u = 0;
  let r = 0;
  let x = 0;
  for (let i = 0; i < n; i++) {
    const code = codes[i];
    if (code === 0) {
      chunk += `${raws[r++]}\n`;
      continue;
    }
    let tail = tails[backends[i]];
    if (x < extraAt.length && extraAt[x] === i) tail = tail.slice(0, -1) + extras[x++];
    chunk += `${heads[code]}${times[i]},"uid":"${uids[u++]}"${tail}\n`;
    if (chunk.length > 1 << 20) {
      writeSync(fd, chunk);
      chunk = '';
    }
  }
  if (chunk) writeSync(fd, chunk);
}

port.on('message', (/** @type {CheckpointBatch} */ msg) => {
  if (!failed) {
    try {
      write(msg);
    } catch (err) {
      failed = true;
      port.postMessage(/** @satisfies {CheckpointAck} */ ({ seq: msg.seq, error: /** @type {Error} */ (err).message }));
      return;
    }
  }
  port.postMessage(/** @satisfies {CheckpointAck} */ ({ seq: msg.seq }));
});
