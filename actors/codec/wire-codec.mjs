// @ts-check
// The one wire codec for functions and errors: what crosses a thread, a process, an HPC rank or a
// distributed worker. Pure (no I/O) and plain JavaScript, so the worker entry points load it the
// same way from the sources and from dist/. Types: wire-codec.d.mts, the declaration TypeScript
// importers see; the JSDoc here is checked against it (`npm run typecheck`, tsconfig.workers.json).

/** @import { CaptureWire, ErrorData, FunctionWire } from './wire-codec.mjs' */

/* ---------------------------------------------------------------- thrown values ---------------- */

/**
 * Is `v` an Error (also one from another realm)? Never throws.
 * @param {unknown} v
 * @returns {v is Error}
 */
export function isErrorLike(v) {
  try {
    return v instanceof Error || Object.prototype.toString.call(v) === '[object Error]';
  } catch {
    return false;
  }
}

/**
 * A short printable description of any thrown value; never throws (null prototypes, throwing toString, symbols).
 * @param {unknown} v
 * @returns {string}
 */
export function describeThrown(v) {
  try {
    switch (typeof v) {
      case 'string':
        return v;
      case 'undefined':
        return 'undefined';
      case 'symbol':
        return Symbol.prototype.toString.call(v);
      case 'bigint':
        return `${v}n`;
      case 'function':
        return `function ${v.name || '(anonymous)'}`;
      case 'object': {
        if (v === null) return 'null';
        let json;
        try {
          json = JSON.stringify(v);
        } catch {}
        if (typeof json === 'string' && json.length <= 300) {
          return Object.getPrototypeOf(v) === null ? `[Object: null prototype] ${json}` : json;
        }
        if (Object.getPrototypeOf(v) === null) return '[Object: null prototype]';
        return Object.prototype.toString.call(v);
      }
      default:
        return String(v);
    }
  } catch {
    return '(a value that cannot be described)';
  }
}

/**
 * Reads a property without letting a getter or proxy trap escape.
 * @param {object} obj
 * @param {string} key
 * @returns {unknown}
 */
function read(obj, key) {
  try {
    return /** @type {Record<string, unknown>} */ (obj)[key];
  } catch {
    return undefined;
  }
}

const ERROR_KEYS = new Set(['name', 'message', 'stack', 'cause']);

/**
 * Structured-clone check (what postMessage and advanced IPC carry); class instances pass (as plain objects).
 * @param {unknown} value
 * @returns {boolean}
 */
export function cloneable(value) {
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

// What structured clone rebuilds with its own prototype; any other object arrives as a plain object.
const CLONE_KEEPS = new Set(
  [
    Object,
    Array,
    Date,
    RegExp,
    Map,
    Set,
    ArrayBuffer,
    DataView,
    Boolean,
    Number,
    String,
    Error,
    EvalError,
    RangeError,
    ReferenceError,
    SyntaxError,
    TypeError,
    URIError,
    Int8Array,
    Uint8Array,
    Uint8ClampedArray,
    Int16Array,
    Uint16Array,
    Int32Array,
    Uint32Array,
    Float32Array,
    Float64Array,
    BigInt64Array,
    BigUint64Array,
  ].map((c) => c.prototype),
);

/**
 * Would structured clone deliver `value` unchanged? Null when so, else a short reason with the
 * path: functions and symbols do not clone, class instances would lose their class.
 * @param {unknown} value
 * @param {string} [path]
 * @returns {string | null}
 */
export function cloneProblem(value, path = '') {
  const at = path || 'the value';
  try {
    structuredClone(value);
  } catch (err) {
    return `${at} cannot be cloned (${/** @type {Error} */ (err)?.message ?? err})`;
  }
  /** @type {Set<object>} */
  const seen = new Set();
  /** @type {(v: unknown, p: string) => string | null} */
  const walk = (v, p) => {
    if (v === null || typeof v !== 'object' || seen.has(v)) return null;
    seen.add(v);
    const proto = Object.getPrototypeOf(v);
    if (proto !== null && !CLONE_KEEPS.has(proto)) return `${p || 'the value'} is a ${v.constructor?.name ?? 'class'} instance, which would arrive as a plain object without its class`;
    if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) return null;
    if (v instanceof Map) {
      for (const [k, x] of v) {
        const r = walk(k, `${p}<key>`) ?? walk(x, `${p}.get(${typeof k === 'string' ? JSON.stringify(k) : '…'})`);
        if (r) return r;
      }
      return null;
    }
    if (v instanceof Set) {
      for (const x of v) {
        const r = walk(x, `${p}<item>`);
        if (r) return r;
      }
      return null;
    }
    for (const k of Object.keys(v)) {
      const r = walk(/** @type {Record<string, unknown>} */ (v)[k], Array.isArray(v) ? `${p}[${k}]` : p ? `${p}.${k}` : k);
      if (r) return r;
    }
    return null;
  };
  return walk(value, path);
}

/**
 * Would JSON carry `value` unchanged? Plain objects and arrays of strings, booleans, null and
 * finite numbers only: `undefined`, NaN, -0, Dates, Maps, class instances… would arrive changed.
 * Returns null when safe, else a short reason with the path to the offending part.
 * @param {unknown} value
 * @param {string} [path]
 * @param {Set<object>} [seen]
 * @returns {string | null}
 */
export function jsonProblem(value, path = '', seen = new Set()) {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return null;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0) ? null : `${path || 'the value'} is ${String(value)}, which JSON turns into ${Object.is(value, -0) ? '0' : 'null'}`;
    case 'object': {
      if (value === null) return null;
      if (seen.has(value)) return `${path || 'the value'} is a circular structure`;
      const proto = Object.getPrototypeOf(value);
      const isArray = Array.isArray(value);
      if (!isArray && proto !== Object.prototype && proto !== null) {
        return `${path || 'the value'} is a ${value?.constructor?.name ?? 'non-plain object'}, which JSON would change`;
      }
      seen.add(value);
      if (isArray) {
        for (let i = 0; i < value.length; i++) {
          const p = jsonProblem(value[i], `${path}[${i}]`, seen);
          if (p) return p;
        }
      } else {
        if (Object.getOwnPropertySymbols(value).length) return `${path || 'the value'} has symbol keys, which JSON drops`;
        for (const k of Object.keys(value)) {
          const p = jsonProblem(/** @type {Record<string, unknown>} */ (value)[k], path ? `${path}.${k}` : k, seen);
          if (p) return p;
        }
      }
      seen.delete(value);
      return null;
    }
    default:
      return `${path || 'the value'} is ${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`}, which JSON ${typeof value === 'bigint' ? 'cannot carry' : 'drops'}`;
  }
}

/**
 * Any thrown value as error data: name, message, stack, cause (recursively) and own enumerable
 * properties (`code`, details) that the transport carries unchanged (`json`: JSON-safe ones only;
 * else structured-cloneable ones). Never throws, whatever was thrown.
 * @param {unknown} thrown
 * @param {{ json?: boolean; hint?: string }} [options]
 * @param {number} [depth] how deep in a cause chain (the chain is cut at 8)
 * @returns {ErrorData}
 */
export function encodeError(thrown, options = {}, depth = 0) {
  const json = options.json === true;
  if (!isErrorLike(thrown)) {
    return { name: 'Error', message: typeof thrown === 'string' ? thrown : `Non-error thrown: ${describeThrown(thrown)}`, nonError: true };
  }
  const name = read(thrown, 'name');
  const message = read(thrown, 'message');
  const stack = read(thrown, 'stack');
  /** @type {ErrorData} */
  const data = {
    name: typeof name === 'string' ? name : 'Error',
    message: typeof message === 'string' ? message : describeThrown(message),
  };
  if (typeof stack === 'string') data.stack = stack;
  if (options.hint && data.name === 'ReferenceError') data.message += options.hint;
  let hasCause = false;
  try {
    hasCause = 'cause' in thrown;
  } catch {}
  if (hasCause) {
    const cause = read(thrown, 'cause');
    data.cause = depth < 8 && isErrorLike(cause) ? encodeError(cause, { json }, depth + 1) : encodeValue(cause, json);
  }
  /** @type {string[]} */
  let keys = [];
  try {
    keys = Object.keys(thrown);
  } catch {}
  for (const k of keys) {
    if (ERROR_KEYS.has(k)) continue;
    const v = read(thrown, k);
    if (json ? jsonProblem(v) === null : cloneable(v)) (data.props ??= {})[k] = v;
  }
  if (data.props && 'code' in data.props) data.code = data.props.code;
  return data;
}

/**
 * A non-error cause as data: carried when the transport can, else described.
 * @param {unknown} v
 * @param {boolean} json
 * @returns {{ value: unknown }}
 */
function encodeValue(v, json) {
  if (json ? jsonProblem(v) === null : cloneable(v)) return { value: v };
  return { value: describeThrown(v) };
}

const BUILTIN = { Error, TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError };

/**
 * Rebuilds an error from its data: built-in classes keep their class, any other class keeps its
 * name (an Error whose `name` is that class's name), with message, stack, cause and properties.
 * @param {ErrorData} data
 * @returns {Error}
 */
export function decodeError(data) {
  const Ctor = BUILTIN[/** @type {keyof typeof BUILTIN} */ (data.name)] ?? Error;
  const err = new Ctor(data.message);
  if (err.name !== data.name) Object.defineProperty(err, 'name', { value: data.name, configurable: true, writable: true });
  if (data.stack) err.stack = data.stack;
  else delete err.stack;
  if (data.cause !== undefined) {
    const c = data.cause;
    const cause = c && typeof c === 'object' && 'value' in c && !('name' in c) ? c.value : decodeError(/** @type {ErrorData} */ (c));
    Object.defineProperty(err, 'cause', { value: cause, configurable: true, writable: true });
  }
  if (data.props) Object.assign(err, data.props);
  else if (data.code !== undefined) /** @type {any} */ (err).code = data.code;
  return err;
}

/**
 * Anything thrown in the host, as an Error: errors as they are; any other value wrapped, with the
 * value itself kept as `cause`. Never throws.
 * @param {unknown} thrown
 * @returns {Error}
 */
export function toError(thrown) {
  if (isErrorLike(thrown)) return thrown;
  const message = typeof thrown === 'string' ? thrown : `Non-error thrown: ${describeThrown(thrown)}`;
  return new Error(message, { cause: thrown });
}

/* ---------------------------------------------------------------- functions -------------------- */

/**
 * Source text of a native or bound function (nothing to ship).
 * @param {string} source
 * @returns {boolean}
 */
export function isNativeSource(source) {
  return /\{\s*\[native code\]\s*\}\s*$/.test(source);
}

// esbuild's keepNames helper (tsx, vitest): TypeScript run through them wraps nested names in
// `__name(fn, "name")`; the worker provides it.
/** @type {(target: Function, value: string) => Function} */
const keepName = (target, value) => Object.defineProperty(target, 'name', { value, configurable: true });

// Vitest (vite-node) rewrites `import()` in test files to this helper; functions written in a
// vitest suite are shipped as that rewritten text, so provide it too.
/** @type {(specifier: string) => Promise<unknown>} */
const viteImport = (specifier) => import(specifier);

const CAPTURES = '__rhapsody_captures';
const PROVIDED = ['__name', '__vite_ssr_dynamic_import__'];

/**
 * Builds the factory text for one function: `(__name, a, b) => [fn, setCaptures]`.
 * @param {string} source
 * @param {string[]} names
 * @param {boolean} shorthand
 * @returns {string}
 */
function factoryText(source, names, shorthand) {
  const expr = shorthand ? `Object.values({ ${source} })[0]` : `(${source}\n)`;
  const assign = names.map((n, i) => `${n} = ${CAPTURES}[${i}];`).join(' ');
  return `(function (${[...PROVIDED, ...names].join(', ')}) { return [${expr}, function (${CAPTURES}) { ${assign} }]; })`;
}

/** @typedef {(...provided: unknown[]) => [unknown, (captures: unknown[]) => void]} Factory */

/**
 * @param {string} source
 * @param {string[]} names
 * @returns {Factory}
 */
function factoryOf(source, names) {
  try {
    return (0, eval)(factoryText(source, names, false));
  } catch (first) {
    // method shorthand: `name(a) { … }` / `async name(a) { … }`
    try {
      return (0, eval)(factoryText(source, names, true));
    } catch {}
    throw new SyntaxError(`cannot rebuild the function from its source text: ${/** @type {Error} */ (first).message}`);
  }
}

/**
 * Rebuilds a shipped function: `source` alone, or `{ fns }` where fns[0] is the function and each
 * entry's captures are values (`{ v }`) or other entries (`{ f: index }`, recursion and cycles
 * allowed). Captured bindings are the function's own copies: assignments stay in the worker.
 * @param {string | FunctionWire} wire
 * @returns {(...args: unknown[]) => unknown}
 */
export function compile(wire) {
  /** @type {FunctionWire['fns']} */
  const fns = typeof wire === 'string' ? [{ source: wire }] : wire.fns;
  const built = fns.map((d) => {
    const names = d.captures ? Object.keys(d.captures) : [];
    const [fn, set] = factoryOf(d.source, names)(keepName, viteImport);
    if (typeof fn !== 'function') throw new SyntaxError('the shipped source text is not a function');
    return { fn: /** @type {(...args: unknown[]) => unknown} */ (fn), set, names, captures: d.captures };
  });
  for (const b of built) {
    if (b.names.length)
      b.set(
        b.names.map((n) => {
          const c = /** @type {Record<string, CaptureWire>} */ (b.captures)[n];
          return 'f' in c ? built[c.f].fn : c.v;
        }),
      );
  }
  return built[0].fn;
}

/**
 * The exports above against their declaration (wire-codec.d.mts): a mismatch fails the typecheck.
 * @typedef {import('../implements.js').Implements<typeof import('./wire-codec.mjs'), {
 *   isErrorLike: typeof isErrorLike; describeThrown: typeof describeThrown; cloneable: typeof cloneable;
 *   cloneProblem: typeof cloneProblem; jsonProblem: typeof jsonProblem; encodeError: typeof encodeError;
 *   decodeError: typeof decodeError; toError: typeof toError; isNativeSource: typeof isNativeSource; compile: typeof compile;
 * }>} Checked
 */
