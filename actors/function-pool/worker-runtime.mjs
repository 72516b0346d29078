// @ts-check
// Runs shipped functions inside a worker thread or child process. Plain JavaScript so that it
// loads the same way from the sources and from dist/. Raw messages, no RPC layer: the host posts
// batches `{ fns, jobs }`; the worker posts back arrays of results as jobs finish: synchronous
// jobs of one batch in one message (at the end of the batch), asynchronous ones gathered per turn
// of the event loop. A lone task therefore costs one message each way. The message shapes and the
// exports are declared in worker-runtime.d.mts (what worker-pool.ts imports); the JSDoc here is
// checked against it.
import { deserialize, serialize } from 'node:v8';
import { cloneable, compile, encodeError } from '../codec/wire-codec.mjs';

/** @import { ErrorData, FunctionWire } from '../codec/wire-codec.mjs' */
/** @import { Batch, FunctionDef, Job, JobResult, SharedValue } from './worker-runtime.mjs' */
/**
 * A defined function in this worker: compiled (`fn`), still loading from its module (`loading`),
 * or failed to compile or load (`error`).
 * @typedef {{ fn?: (...args: unknown[]) => unknown; loading?: Promise<unknown> | null; error?: ErrorData; fromSource: boolean }} Entry
 */

export { compile };

const CLOSURE_HINT =
  " (a function run in a worker gets its captured variables shipped with it, but not the host's globals or modules: " +
  'import what you need with `await import()` inside the function, pass values as args, or use a module reference)';

/**
 * Error data of anything thrown by a shipped function (source functions get the closure hint).
 * @param {unknown} err
 * @param {boolean} fromSource
 * @returns {ErrorData}
 */
export function errorData(err, fromSource) {
  return encodeError(err, fromSource ? { hint: CLOSURE_HINT } : {});
}

// a result this large (serialised) goes to the host as shared bytes, so that a dependent on the same
// pool gets those bytes again instead of the host serialising the value a second time
const SHARE_MIN = 64 * 1024;

/**
 * A large array, typed array or ArrayBuffer result serialised once into shared memory; else null.
 * @param {unknown} value
 * @returns {SharedArrayBuffer | null}
 */
function sharedBytes(value) {
  if (typeof value !== 'object' || value === null) return null;
  const big = ArrayBuffer.isView(value) || value instanceof ArrayBuffer ? value.byteLength >= SHARE_MIN : Array.isArray(value) && value.length >= 1024;
  if (!big) return null;
  /** @type {Buffer} */
  let bytes;
  try {
    bytes = serialize(value);
  } catch {
    return null; // not serialisable: the plain post says why
  }
  if (bytes.length < SHARE_MIN) return null;
  const shared = new SharedArrayBuffer(bytes.length);
  new Uint8Array(shared).set(bytes);
  return shared;
}

/**
 * @param {unknown} a
 * @returns {unknown}
 */
function unshare(a) {
  const bytes = a !== null && typeof a === 'object' ? /** @type {Partial<SharedValue>} */ (a).__rhapsodySharedValue : undefined;
  return bytes instanceof SharedArrayBuffer ? deserialize(new Uint8Array(bytes)) : a;
}

/**
 * A job's arguments with shared values read back (top level, and the kwargs object's values).
 * @param {Job} job
 * @returns {unknown[]}
 */
function argumentsOf(job) {
  if (!job.shared) return job.args;
  const args = job.args.map(unshare);
  if (job.kw) {
    const kw = /** @type {Record<string, unknown>} */ (args[args.length - 1]);
    args[args.length - 1] = Object.fromEntries(Object.entries(kw).map(([k, v]) => [k, unshare(v)]));
  }
  return args;
}

/**
 * @param {number} id
 * @param {unknown} value
 * @returns {JobResult}
 */
function notSendable(id, value) {
  return { id, ok: false, error: { name: 'DataCloneError', message: `the return value (${typeof value}) cannot be sent back from the worker` } };
}

/**
 * A result as it can be posted: itself, or the failure of a value that cannot be cloned.
 * @param {JobResult} r
 * @returns {JobResult}
 */
function sendable(r) {
  return !r.ok || !('value' in r) || cloneable(r.value) ? r : notSendable(r.id, r.value);
}

/**
 * The worker side. `post(results)` sends an array of results to the host.
 * @param {(results: JobResult[]) => void} post
 * @param {{ share?: boolean }} [options] share: large results go back as shared bytes (threads only)
 * @returns {{ submit(batch: Batch): void }}
 */
export function createRuntime(post, options = {}) {
  const share = options.share === true;
  /** @type {Map<number, Entry>} */
  const fns = new Map();
  /** @type {JobResult[]} */
  let results = [];
  let inBatch = false;
  let flushScheduled = false;

  function flush() {
    flushScheduled = false;
    if (results.length === 0) return;
    const r = results;
    results = [];
    try {
      post(r);
    } catch {
      // a value that cannot be cloned fails the post as a whole (nothing is sent): only then is each
      // checked, so a cloneable result is serialised once, by the post itself, not tested first
      post(r.map(sendable));
    }
  }

  /** @param {JobResult} result */
  function push(result) {
    results.push(result);
    if (!inBatch && !flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  }

  /**
   * @param {FunctionDef} def
   * @returns {Entry}
   */
  function fromSource(def) {
    try {
      // define() sends only defs with a source or a wire here
      return { fn: compile(/** @type {string | FunctionWire} */ (def.wire ?? def.source)), fromSource: true };
    } catch (err) {
      return { error: errorData(err, false), fromSource: true };
    }
  }

  /**
   * @param {FunctionDef} def
   * @param {Map<number, Entry>} local
   */
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
      // neither source nor wire: a module reference (worker-pool.ts sends one of the two forms)
      const loading = import(/** @type {string} */ (def.module)).then((m) => {
        const fn = m[name];
        if (typeof fn !== 'function') throw new TypeError(`module ${def.module} has no function export "${name}"`);
        return fn;
      });
      /** @type {Entry} */
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

  /**
   * @param {number} id
   * @param {unknown} value
   */
  function ok(id, value) {
    const t = typeof value;
    if (t === 'function' || t === 'symbol') return push(notSendable(id, value));
    const shared = share && t === 'object' ? sharedBytes(value) : null;
    push(shared ? { id, ok: true, shared } : { id, ok: true, value });
  }

  /**
   * @param {Job} job
   * @param {Entry | undefined} entry
   * @returns {void}
   */
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
      // neither failed nor loading: compiled or loaded
      const value = /** @type {(...args: unknown[]) => unknown} */ (entry.fn)(...argumentsOf(job));
      if (value !== null && typeof value === 'object' && typeof (/** @type {PromiseLike<unknown>} */ (value).then) === 'function') {
        /** @type {PromiseLike<unknown>} */ (value).then(
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
    /** @param {Batch} batch */
    submit(batch) {
      inBatch = true;
      try {
        /** @type {Map<number, Entry>} */
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

/**
 * The exports above against their declaration (worker-runtime.d.mts): a mismatch fails the typecheck.
 * @typedef {import('../implements.js').Implements<typeof import('./worker-runtime.mjs'), { compile: typeof compile; errorData: typeof errorData; createRuntime: typeof createRuntime }>} Checked
 */
