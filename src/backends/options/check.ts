// Backend options checked at the edge (zod), shared by every backend. zod only: the llama subpath
// bundles this file too, so it must not carry classes of its own (errors come from the caller).
import { z } from 'zod';

/** A value as a message shows it: `"four"`, `NaN`, `0`. */
function shown(v: unknown): string {
  if (typeof v === 'number' || v === undefined || v === null) return String(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return typeof v;
  }
}

/** A number field: the message says what is allowed and what was given. */
function numberField(what: string, make: (n: z.ZodNumber, error: (iss: { input?: unknown }) => string) => z.ZodNumber) {
  const error = (iss: { input?: unknown }) => `expected ${what}, got ${shown(iss.input)}`;
  return make(z.number({ error }), error);
}

/** 1, 2, 3, … */
export const count = () => numberField('a whole number ≥ 1', (n, error) => n.int({ error }).min(1, { error }));
/** 0, 1, 2, … */
export const countOrZero = () => numberField('a whole number ≥ 0', (n, error) => n.int({ error }).min(0, { error }));
/** milliseconds > 0 */
export const positiveMs = () => numberField('a number of ms > 0', (n, error) => n.positive({ error }));
/** milliseconds ≥ 0 */
export const ms = () => numberField('a number of ms ≥ 0', (n, error) => n.min(0, { error }));

export const name = () => z.string({ error: 'expected a non-empty string' }).min(1, { error: 'expected a non-empty string' });

/**
 * An options object whose unknown keys are refused, as Python refuses an unexpected keyword
 * argument: the message lists the known options and, for a snake_case key, its camelCase name.
 */
export function optionsObject<S extends z.ZodRawShape>(shape: S) {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code === 'unrecognized_keys') {
        const hints = iss.keys.map((k) => {
          const camel = k.replace(/_+([a-z0-9])/g, (_, c: string) => c.toUpperCase());
          return camel !== k && known.includes(camel) ? `"${k}" (use ${camel})` : `"${k}"`;
        });
        return `unknown option${iss.keys.length > 1 ? 's' : ''} ${hints.join(', ')}; known options: ${known.join(', ')}`;
      }
      if (iss.code === 'invalid_type') return `expected an options object { ${known.join(', ')} }, got ${shown(iss.input)}`;
      return undefined;
    },
  });
}

/** What every inference backend accepts besides its own options. */
export const inferenceShape = {
  maxInFlight: count().optional(),
  maxBatchSize: count().optional(),
  maxBatchWaitMs: ms().optional(),
  maxAttempts: count().optional(),
  backoffMs: ms().optional(),
  requestTimeoutMs: ms().optional(),
};

/** Null when the options pass; otherwise the message naming the backend class and each bad option. */
export function optionsProblem(backendClass: string, schema: z.ZodType, options: unknown): string | null {
  const parsed = schema.safeParse(options);
  if (parsed.success) return null;
  return `Invalid ${backendClass} options:\n${z.prettifyError(parsed.error)}`;
}
