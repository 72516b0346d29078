// Runs shipped functions inside a worker thread or child process. Plain JavaScript so that it
// loads the same way from the sources and from dist/. Exposed through comlink as { submit, collect }:
// `submit` starts a batch of jobs, `collect` long-polls for finished ones, so messages are batched
// both ways and a slow job never holds back the results of fast ones.

const CLOSURE_HINT =
  ' (functions run in a worker must be self-contained: outer variables are not shipped. ' +
  'Import what you need with `await import()` inside the function, pass values as args, or use a module reference)';

// Vitest (vite-node) rewrites `import()` in test files to this helper; functions written in a
// user's vitest suite are shipped as that rewritten text, so provide it.
globalThis.__vite_ssr_dynamic_import__ ??= (specifier) => import(specifier);

export function compile(source) {
  try {
    return (0, eval)(`(${source})`);
  } catch (first) {
    // method shorthand: `name(a) { … }` / `async name(a) { … }`
    try {
      const obj = (0, eval)(`({ ${source} })`);
      const fn = Object.values(obj)[0];
      if (typeof fn === 'function') return fn;
    } catch {}
    throw new SyntaxError(`cannot rebuild the function from its source text: ${first.message}`);
  }
}

export function errorData(err, fromSource) {
  if (!(err instanceof Error)) {
    return { name: 'Error', message: typeof err === 'string' ? err : `Non-error thrown: ${String(err)}` };
  }
  let message = err.message;
  if (fromSource && err.name === 'ReferenceError') message += CLOSURE_HINT;
  return { name: err.name, message, stack: err.stack, code: err.code };
}

function cloneable(value) {
  const t = typeof value;
  if (t === 'function' || t === 'symbol') return false;
  if (t !== 'object' || value === null) return true;
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}

export function createRuntime() {
  const fns = new Map(); // fn id → { fn | promise, fromSource }
  let results = [];
  let waiter = null;
  let flushScheduled = false;

  function flush() {
    flushScheduled = false;
    if (waiter && results.length) {
      const w = waiter;
      waiter = null;
      const r = results;
      results = [];
      w(r);
    }
  }

  function push(result) {
    results.push(result);
    if (waiter && !flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  }

  function define(def) {
    if (fns.has(def.id)) return;
    if (def.source !== undefined) {
      try {
        fns.set(def.id, { fn: compile(def.source), fromSource: true });
      } catch (err) {
        fns.set(def.id, { error: errorData(err, false), fromSource: true });
      }
    } else {
      const name = def.export ?? 'default';
      const loading = import(def.module).then((m) => {
        const fn = m[name];
        if (typeof fn !== 'function') throw new TypeError(`module ${def.module} has no function export "${name}"`);
        return fn;
      });
      const entry = { loading, fromSource: false };
      loading.then(
        (fn) => { entry.fn = fn; entry.loading = null; },
        (err) => { entry.error = errorData(err, false); entry.loading = null; },
      );
      fns.set(def.id, entry);
    }
  }

  function ok(id, value) {
    if (cloneable(value)) push({ id, ok: true, value });
    else push({ id, ok: false, error: { name: 'DataCloneError', message: `the return value (${typeof value}) cannot be sent back from the worker` } });
  }

  function run(job) {
    const entry = fns.get(job.fn);
    if (entry.error) return push({ id: job.id, ok: false, error: entry.error });
    if (entry.loading) {
      entry.loading.then(() => run(job), () => run(job));
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
    submit(batch) {
      for (const def of batch.fns) define(def);
      for (const job of batch.jobs) run(job);
    },
    collect() {
      if (results.length) {
        const r = results;
        results = [];
        return r;
      }
      return new Promise((resolve) => {
        waiter = resolve;
      });
    },
  };
}
