export function compile(source: string): (...args: unknown[]) => unknown;
export function errorData(err: unknown, fromSource: boolean): { name: string; message: string; stack?: string; code?: unknown };
export function createRuntime(): unknown;
