/** An error as plain data, so it can cross a thread or process boundary. */
export interface ErrorData {
  name: string;
  message: string;
  stack?: string;
  code?: unknown;
}

const BUILTIN: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  ReferenceError,
  SyntaxError,
  EvalError,
  URIError,
};

/** Rebuilds an error sent as data: same name, message and stack; built-in classes keep their class. */
export function rebuildError(data: ErrorData): Error {
  const Ctor = BUILTIN[data.name] ?? Error;
  const err = new Ctor(data.message);
  if (err.name !== data.name) Object.defineProperty(err, 'name', { value: data.name, configurable: true, writable: true });
  if (data.stack) err.stack = data.stack;
  if (data.code !== undefined) (err as Error & { code?: unknown }).code = data.code;
  return err;
}

/** Converts anything thrown into an Error. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(typeof thrown === 'string' ? thrown : `Non-error thrown: ${String(thrown)}`);
}
