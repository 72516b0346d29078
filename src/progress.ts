import type { Backend } from './backends/backend.js';
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

/**
 * Prints what a backend says while it starts or waits, from its `state$`: `name: detail` each time
 * the detail changes, and `name | line` for each new line of its log (a model server's output,
 * workers registering). Plain lines on any stream. Stops when disposed or when the backend shuts down.
 *
 * @example
 * const vllm = new VllmInferenceBackend({ model });
 * using talk = watchBackend(vllm); // "vllm: waiting for http://127.0.0.1:8000/health: 5 s of 600 s (…)"
 * await vllm.start();
 */
export function watchBackend(backend: Backend, options: { stream?: NodeJS.WriteStream } = {}): Disposable & { stop(): void } {
  const stream = options.stream ?? process.stderr;
  let detail: string | null = null;
  let log: string[] | null = null;
  const sub = backend.state$.subscribe((s) => {
    // the first snapshot brings the recent lines; each later one adds at most one (BackendSnapshot.log)
    const fresh = log === null ? s.log : s.log !== log && s.log.length ? [s.log.at(-1)!] : [];
    log = s.log;
    for (const line of fresh) stream.write(`${s.name} | ${line}\n`);
    if (s.detail !== detail && s.detail !== null) stream.write(`${s.name}: ${s.detail}\n`);
    detail = s.detail;
  });
  const stop = () => sub.unsubscribe();
  return { stop, [Symbol.dispose]: stop };
}
