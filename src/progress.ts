import type { Session } from './session.js';

export interface ProgressOptions {
  /** default process.stderr */
  stream?: NodeJS.WriteStream;
  /** ms between redraws; default 100 */
  interval?: number;
  /** draw even when the stream is not a TTY (one line per redraw) */
  force?: boolean;
}

/**
 * One progress line from a session's running statistics.
 *
 * @example
 * const startedAt = performance.now();
 * await session.submitTasks(tasks);
 * console.log(progressLine(session, startedAt));
 * // [############------------] 50/100 done 49 failed 1 canceled 0 running 4 queued 46 · 25 tasks/s · ETA 2.0s
 */
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
 * Draws a live progress line (done, failed, running, queued, rate, ETA) for a session until
 * disposed. It polls the session's running statistics, so it costs nothing per task. Quiet when
 * the stream is not a TTY unless `force`.
 *
 * @example
 * using progress = watchProgress(session);
 */
export function watchProgress(session: Session, options: ProgressOptions = {}): Disposable & { stop(): void } {
  const stream = options.stream ?? process.stderr;
  const live = options.force || stream.isTTY === true;
  const startedAt = performance.now();
  const draw = (final: boolean) => {
    if (!live) return;
    const line = progressLine(session, startedAt);
    stream.write(stream.isTTY ? `\r\x1b[2K${line}${final ? '\n' : ''}` : `${line}\n`);
  };
  const timer = setInterval(() => draw(false), options.interval ?? 100);
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
