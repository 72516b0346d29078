/**
 * A long-running command: SIGINT / SIGTERM close it and resolve with exit code 0. A close that
 * cannot finish (its Redis gone, …) does not keep the process: it exits 1 after 10 s. Returns the
 * promise of the exit code and the stop function.
 */
export function untilSignal(close: () => Promise<unknown>): { done: Promise<number>; stop: () => void } {
  let resolve!: (code: number) => void;
  const done = new Promise<number>((r) => (resolve = r));
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(1), 10_000).unref();
    void close().then(
      () => resolve(0),
      () => resolve(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return { done, stop };
}
