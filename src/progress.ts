import type { Session } from './session.js';

export interface ProgressOptions {
  /** default process.stderr */
  stream?: NodeJS.WriteStream;
  /** ms between redraws on a TTY; default 100 */
  interval?: number;
  /** ms between plain lines when the stream is not a TTY (a line only when a count changed); default 1000 */
  plainInterval?: number;
  /** draw even when the stream is not a TTY (one line per redraw) */
  force?: boolean;
}

/** One progress line from a session's running statistics. */
export function progressLine(session: Session, startedAt: number, now = performance.now()): string {
  const { counts } = session.getStatistics();
  const finished = counts.DONE + counts.FAILED + counts.CANCELED;
  const total = finished + counts.SUBMITTED + counts.QUEUED + counts.RUNNING;
  const seconds = Math.max((now - startedAt) / 1000, 1e-3);
  const rate = finished / seconds;
  const eta = rate > 0 ? (total - finished) / rate : NaN;
  const width = 24;
  const filled = total ? Math.round((finished / total) * width) : 0;
  const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
  return (
    `[${bar}] ${finished}/${total} done ${counts.DONE} failed ${counts.FAILED} canceled ${counts.CANCELED} ` +
    `running ${counts.RUNNING} queued ${counts.QUEUED + counts.SUBMITTED} · ${Math.round(rate)} tasks/s` +
    (Number.isFinite(eta) ? ` · ETA ${eta.toFixed(1)}s` : '')
  );
}

/**
 * Shows a session's progress (done, failed, running, queued, rate, ETA) until disposed. On a TTY it
 * redraws one line in place; elsewhere (a pipe, a log file, CI) it prints a plain line when a count
 * changed, at most once per `plainInterval`, and once more at the end if a count changed since. It polls the session's
 * running statistics, so it costs nothing per task.
 *
 * @example
 * using progress = watchProgress(session);
 */
export function watchProgress(session: Session, options: ProgressOptions = {}): Disposable & { stop(): void } {
  const stream = options.stream ?? process.stderr;
  const tty = stream.isTTY === true;
  const startedAt = performance.now();
  let lastCounts = '';
  const draw = (final: boolean) => {
    const line = progressLine(session, startedAt);
    if (tty) return void stream.write(`\r\x1b[2K${line}${final ? '\n' : ''}`);
    if (!options.force) {
      const counts = line.slice(0, line.indexOf(' · ')); // rate and ETA move on their own
      if (counts === lastCounts) return;
      lastCounts = counts;
    }
    stream.write(`${line}\n`);
  };
  const every = tty || options.force ? (options.interval ?? 100) : (options.plainInterval ?? 1000);
  const timer = setInterval(() => draw(false), every);
  timer.unref();
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    draw(true);
  };
  return { stop, [Symbol.dispose]: stop };
}
