import { SessionError } from '../errors.js';
import type { TaskSpec } from '../run/task-handle.js';
import type { TaskFunction } from '../task-types.js';

/** `'package.module:function'` (attribute paths allowed after the colon). */
export const PYTHON_REF = /^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$/;

/** The reference of a `{ python: 'pkg.mod:fn' }` function, else null. */
export function pythonRefOf(fn: TaskFunction | undefined): string | null {
  return fn !== null && typeof fn === 'object' && typeof (fn as { python?: unknown }).python === 'string' ? (fn as { python: string }).python : null;
}

/** For backends that cannot run Python callables: a SessionError at submit naming the task. */
export function refusePythonFunction(task: TaskSpec, backend: string): void {
  const ref = task.kind === 'compute' ? pythonRefOf(task.function) : null;
  if (ref !== null) {
    throw new SessionError(`Task ${task.uid}: backend "${backend}" cannot run a Python function ({ python: ${JSON.stringify(ref)} }); route it to a DaskExecutionBackend`);
  }
}
