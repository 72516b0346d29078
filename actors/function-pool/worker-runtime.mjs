// @ts-check
// Runs shipped functions inside a worker thread or child process. Plain JavaScript so that it
// loads the same way from the sources and from dist/. Raw messages, no RPC layer: the host posts
// batches `{ fns, jobs }`; the worker posts back arrays of results as jobs finish: synchronous
// jobs of one batch in one message (at the end of the batch), asynchronous ones gathered per turn
// of the event loop. A lone task therefore costs one message each way.
import { cloneable, compile, encodeError } from '../codec/wire-codec.mjs';

export { compile };

const CLOSURE_HINT =
  " (a function run in a worker gets its captured variables shipped with it, but not the host's globals or modules: " +
  'import what you need with `await import()` inside the function, pass values as args, or use a module reference)';

/** Error data of anything thrown by a shipped function (source functions get the closure hint). */
export function errorData(err, fromSource) {
  return encodeError(err, fromSource ? { hint: CLOSURE_HINT } : {});
}

/**
 * The worker side. `post(results)` sends an array of results to the host.
 * @param {(results: unknown[]) => void} post
 */
export function createRuntime(post) {
  const fns = new Map(); // fn id → { fn | loading | error, fromSource }
  let results = [];
  let inBatch = false;
  let flushScheduled = false;

  function flush() {
    flushScheduled = false;
    if (results.length === 0) return;
    const r = results;
    results = [];
    post(r);
  }

  function push(result) {
    results.push(result);
    if (!inBatch && !flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  }

  function fromSource(def) {
    try {
      return { fn: compile(def.wire ?? def.source), fromSource: true };
    } catch (err) {
      return { error: errorData(err, false), fromSource: true };
    }
  }

  function define(def, local) {
    if (def.transient) {
      local.set(def.id, fromSource(def)); // a closure's values: for this batch only
      return;
    }
    if (fns.has(def.id)) return;
    if (def.source !== undefined || def.wire !== undefined) {
      fns.set(def.id, fromSource(def));
    } else {
      const name = def.export ?? 'default';
      const loading = import(def.module).then((m) => {
        const fn = m[name];
        if (typeof fn !== 'function') throw new TypeError(`module ${def.module} has no function export "${name}"`);
        return fn;
      });
      const entry = { loading, fromSource: false };
      loading.then(
        (fn) => {
          entry.fn = fn;
          entry.loading = null;
        },
        (err) => {
          entry.error = errorData(err, false);
          entry.loading = null;
        },
      );
      fns.set(def.id, entry);
    }
  }

  function ok(id, value) {
    if (cloneable(value)) push({ id, ok: true, value });
    else push({ id, ok: false, error: { name: 'DataCloneError', message: `the return value (${typeof value}) cannot be sent back from the worker` } });
  }

  function run(job, entry) {
    if (!entry) return push({ id: job.id, ok: false, error: { name: 'Error', message: `function ${job.fn} was never defined in this worker` } });
    if (entry.error) return push({ id: job.id, ok: false, error: entry.error });
    if (entry.loading) {
      entry.loading.then(
        () => run(job, entry),
        () => run(job, entry),
      );
      return;
    }
    try {
      const value = entry.fn(...job.args);
      if (value !== null && typeof value === 'object' && typeof value.then === 'function') {
        value.then(
          (v) => ok(job.id, v),
          (err) => push({ id: job.id, ok: false, error: errorData(err, entry.fromSource) }),
        );
      } else {
        ok(job.id, value);
      }
    } catch (err) {
      push({ id: job.id, ok: false, error: errorData(err, entry.fromSource) });
    }
  }

  return {
    /** @param {{ fns: any[], jobs: any[] }} batch */
    submit(batch) {
      inBatch = true;
      try {
        const local = new Map();
        for (const def of batch.fns) define(def, local);
        for (const job of batch.jobs) run(job, local.get(job.fn) ?? fns.get(job.fn));
      } finally {
        inBatch = false;
        flush();
      }
    },
  };
}
