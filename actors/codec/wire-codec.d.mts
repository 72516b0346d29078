/** An error as plain data, so it can cross a thread, process, rank or distributed worker. */
export interface ErrorData {
  name: string;
  message: string;
  stack?: string;
  /** the error's own `code`, when it has one (also in `props`) */
  code?: unknown;
  /** an Error cause as error data, any other cause as `{ value }` */
  cause?: ErrorData | { value: unknown };
  /** own enumerable properties the transport carries unchanged */
  props?: Record<string, unknown>;
  /** the thrown value was not an Error */
  nonError?: boolean;
}

/** A captured binding of a shipped function: a value, or another function of the same wire form. */
export type CaptureWire = { v: unknown } | { f: number };
/** A function with captured values: fns[0] is the function, the others what it captures. */
export interface FunctionWire {
  fns: Array<{ source: string; captures?: Record<string, CaptureWire> }>;
}

export function isErrorLike(v: unknown): v is Error;
export function describeThrown(v: unknown): string;
export function cloneable(value: unknown): boolean;
export function cloneProblem(value: unknown, path?: string): string | null;
export function jsonProblem(value: unknown, path?: string): string | null;
export function encodeError(thrown: unknown, options?: { json?: boolean; hint?: string }): ErrorData;
export function decodeError(data: ErrorData): Error;
export function toError(thrown: unknown): Error;
export function isNativeSource(source: string): boolean;
export function compile(wire: string | FunctionWire): (...args: unknown[]) => unknown;
