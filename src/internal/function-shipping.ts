// Functions as they travel to a worker: the source text plus the values of the variables it
// captures (cloudpickle's job in the Python original). Captures are found at submit through the
// V8 inspector's scope view of the function object, restricted to names its source text uses;
// each captured function ships the same way (recursion and cycles allowed). Cached per function
// object: a function submitted again ships the values it captured when it was first submitted.
import { cloneProblem, isNativeSource, jsonProblem, type CaptureWire, type FunctionWire } from '../../actors/codec/wire-codec.mjs';
import { TaskValidationError } from '../errors.js';
import { scopesOf, type ScopeView } from './closure-scope.js';
import { sourceNames } from './source-identifiers.js';

type Fn = (...args: never[]) => unknown;

/** Why a function cannot ship: the variable (null: the function itself) and what to do instead. */
export interface ShipProblem {
  variable: string | null;
  reason: string;
  advice: string;
}

export interface ShippedFunction {
  source: string;
  /** null: nothing captured, the source text is all */
  wire: FunctionWire | null;
  problem: ShipProblem | null;
  /** for JSON transports, computed when first asked */
  json?: ShipProblem | null;
}

/** Names the worker provides itself: esbuild's keepNames helper, vitest's import shim. */
const PROVIDED = /^(?:__name|__vite_ssr_dynamic_import__)$/;

const cache = new WeakMap<Fn, ShippedFunction>();

const NATIVE_ADVICE = 'wrap it in a function of your own, e.g. `(...a) => Math.max(...a)`, pass bound values as args, or use the inline executor';
const VALUE_ADVICE =
  'pass it as an argument (args/kwargs), make it a plain value (numbers, strings, arrays, plain objects, Map, Set, Date, typed arrays), import what it needs with `await import()` inside the function, or use the inline executor';

/** The wire form of a function, with what (if anything) keeps it from shipping. */
export function shipFunction(fn: Fn): ShippedFunction {
  let hit = cache.get(fn);
  if (!hit) {
    hit = build(fn);
    cache.set(fn, hit);
  }
  return hit;
}

function build(root: Fn): ShippedFunction {
  const source = root.toString();
  if (isNativeSource(source)) {
    return { source, wire: null, problem: { variable: null, reason: `is native or bound (${root.name || 'anonymous'}); its source text is not JavaScript`, advice: NATIVE_ADVICE } };
  }
  const fns: FunctionWire['fns'] = [];
  const index = new Map<Fn, number>();
  let problem: ShipProblem | null = null;

  const visit = (fn: Fn, src: string, path: string): number => {
    const at = fns.length;
    index.set(fn, at);
    const entry: FunctionWire['fns'][number] = { source: src };
    fns.push(entry);
    const { outer, declared } = sourceNames(src);
    if (outer.length === 0) return at; // nothing to look up: no inspector round trips
    let scopes: ReturnType<typeof scopesOf> | null = null;
    for (const name of outer) {
      if (PROVIDED.test(name) || problem) continue;
      scopes ??= readScopes(fn);
      const scope = scopes.find((s) => Object.hasOwn(s.object, name));
      if (!scope) continue; // a global, or a local of the function
      const value = scope.object[name];
      const where = path ? `${path} → ${name}` : name;
      let capture: CaptureWire;
      if (typeof value === 'function') {
        const seen = index.get(value as Fn);
        if (seen !== undefined) capture = { f: seen };
        else {
          const inner = (value as Fn).toString();
          if (isNativeSource(inner)) {
            if (!declared.has(name)) problem = { variable: where, reason: `is a native or bound function (${(value as Fn).name || 'anonymous'})`, advice: NATIVE_ADVICE };
            continue;
          }
          capture = { f: visit(value as Fn, inner, where) };
        }
      } else {
        const why = cloneProblem(value, name);
        if (why === null) capture = { v: value };
        else {
          if (!declared.has(name)) problem = { variable: where, reason: `cannot be shipped: ${why}`, advice: VALUE_ADVICE };
          continue;
        }
      }
      (entry.captures ??= {})[name] = capture;
    }
    return at;
  };
  visit(root, source, '');
  const captured = fns.length > 1 || fns[0]!.captures !== undefined;
  return { source, wire: captured ? { fns } : null, problem };
}

/** The non-global scopes; none where the inspector is not available (captures then do not ship). */
function readScopes(fn: Fn): ScopeView[] {
  try {
    return scopesOf(fn).filter((s) => s.description !== 'Global');
  } catch {
    return [];
  }
}

/** For transports that carry JSON: the first captured value JSON would change. */
function jsonCheck(shipped: ShippedFunction): ShipProblem | null {
  if (shipped.json !== undefined) return shipped.json;
  let found: ShipProblem | null = null;
  for (const f of shipped.wire?.fns ?? []) {
    for (const [name, c] of Object.entries(f.captures ?? {})) {
      if (!('v' in c)) continue;
      const why = jsonProblem(c.v, name);
      if (why) {
        found = {
          variable: name,
          reason: `cannot travel as JSON unchanged (${why})`,
          advice: 'capture only plain JSON data (strings, finite numbers, booleans, null, arrays, plain objects), or pass it as an argument',
        };
        break;
      }
    }
    if (found) break;
  }
  shipped.json = found;
  return found;
}

/**
 * Refuses at submit a function that cannot ship to `where` (e.g. "worker thread"), with a
 * TaskValidationError naming the task, the variable and what to do instead. Returns the wire form.
 */
export function checkShippable(uid: string, fn: Fn, where: string, transport: 'clone' | 'json'): ShippedFunction {
  const shipped = shipFunction(fn);
  const problem = shipped.problem ?? (transport === 'json' ? jsonCheck(shipped) : null);
  if (problem) {
    const what = problem.variable ? `its captured variable "${problem.variable}" ${problem.reason}` : `the function ${problem.reason}`;
    throw new TaskValidationError(`Task ${uid}: the function cannot be shipped to a ${where}: ${what}. Instead: ${problem.advice}`, uid, 'function');
  }
  return shipped;
}
