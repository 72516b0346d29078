import { TaskValidationError } from './errors.js';

/** `task_backend_specific_kwargs` → `taskBackendSpecificKwargs` */
export function camelOf(key: string): string {
  return key.replace(/_+([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

/** Result fields every task has: the Python spellings of these are refused as inputs too. */
const TASK_FIELDS = ['exitCode', 'returnValue', 'stdout', 'stderr', 'exception', 'response', 'state', 'uid', 'backend'];

/** Fields read from `taskBackendSpecificKwargs` by the backends. */
const KWARGS_FIELDS = new Set(['processTemplates', 'processTemplate', 'shell', 'cwd', 'env', 'timeout', 'resources']);

/**
 * A Python habit (`exit_code`, `task_backend_specific_kwargs`, `process_templates`, …) would
 * otherwise be kept as an extra and silently ignored (a 2-rank job runs as one process): refuse the
 * snake_case spelling of any real field, naming the camelCase one.
 */
export function refusePythonKeys(input: unknown, uid: string, fields: ReadonlySet<string>): void {
  if (!input || typeof input !== 'object') return;
  check(input as Record<string, unknown>, uid, (k) => fields.has(k) || TASK_FIELDS.includes(k), '');
  const kwargs = (input as Record<string, unknown>).taskBackendSpecificKwargs;
  if (kwargs && typeof kwargs === 'object') check(kwargs as Record<string, unknown>, uid, (k) => KWARGS_FIELDS.has(k), 'taskBackendSpecificKwargs.');
}

function check(obj: Record<string, unknown>, uid: string, isField: (k: string) => boolean, prefix: string): void {
  for (const key of Object.keys(obj)) {
    if (!key.includes('_')) continue;
    const camel = camelOf(key);
    if (camel !== key && isField(camel)) {
      throw new TaskValidationError(`Invalid task ${uid}: "${prefix}${key}" is the Python spelling: use ${prefix}${camel} (rhapsody's options are camelCase)`, uid, `${prefix}${camel}`);
    }
  }
}
