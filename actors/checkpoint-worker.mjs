// Writes telemetry checkpoint lines off the main thread. Batches arrive as columns; task lines
// are assembled here, so the session's hot path only pushes a few values per event.
import { closeSync, openSync, writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

const fd = openSync(workerData.path, 'a');
let failed = false;

parentPort.on('message', (msg) => {
  if (msg.close) {
    closeSync(fd);
    parentPort.postMessage({ closed: true });
    return;
  }
  const { heads, times, uids, tails, seq } = msg;
  if (!failed) {
    try {
      let chunk = '';
      for (let i = 0; i < heads.length; i++) {
        const uid = uids[i];
        chunk += uid === null ? `${heads[i]}\n` : `${heads[i]}${times[i]},"uid":"${uid}"${tails[i]}\n`;
        if (chunk.length > 1 << 20) {
          writeSync(fd, chunk);
          chunk = '';
        }
      }
      if (chunk) writeSync(fd, chunk);
    } catch (err) {
      failed = true;
      parentPort.postMessage({ seq, error: err.message });
      return;
    }
  }
  parentPort.postMessage({ seq });
});
