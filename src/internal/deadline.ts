/** Rejects with `error()` when `p` has not settled within `ms` (the work itself is not stopped). */
export function withDeadline<T>(p: Promise<T>, ms: number, error: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(error()), Math.max(0, ms));
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e: unknown) => (clearTimeout(t), reject(e)),
    );
  });
}

/** Resolves after `ms` (a bounded wait that gives up quietly). */
export function pause(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
