import type { ErrorData, FunctionWire } from '../codec/wire-codec.mjs';
export function compile(wire: string | FunctionWire): (...args: unknown[]) => unknown;
export function errorData(err: unknown, fromSource: boolean): ErrorData;
export function createRuntime(post: (results: unknown[]) => void): { submit(batch: { fns: unknown[]; jobs: unknown[] }): void };
