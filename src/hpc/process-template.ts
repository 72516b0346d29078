import { z } from 'zod';
import { TaskValidationError } from '../errors.js';
import { Placement, Policy } from './policy.js';

/** Dragon's ProcessTemplate, less target/args/kwargs (those come from the ComputeTask). */
export interface ProcessTemplate {
  cwd?: string;
  env?: Record<string, string>;
  /** 'ignore' (default) or a string fed to the process */
  stdin?: string;
  /** 'pipe' (captured, default), 'stdout' (stderr merged into stdout), 'ignore' */
  stdout?: 'pipe' | 'ignore';
  stderr?: 'pipe' | 'stdout' | 'ignore';
  policy?: Policy;
  options?: { timeout?: number; launcherArgs?: string[] };
}

export const policySchema = z.union([
  z.instanceof(Policy),
  z
    .object({
      placement: z.enum(Placement).optional(),
      hostName: z.string().min(1).optional(),
      gpuAffinity: z.array(z.number().int().nonnegative()).optional(),
      gpus: z.number().int().positive().optional(),
      cpuAffinity: z.array(z.number().int().nonnegative()).optional(),
    })
    .strict()
    .transform((p) => new Policy(p)),
]);

export const processTemplateSchema = z
  .object({
    cwd: z.string().optional(),
    env: z.record(z.string(), z.string()).optional(),
    stdin: z.string().optional(),
    stdout: z.enum(['pipe', 'ignore']).optional(),
    stderr: z.enum(['pipe', 'stdout', 'ignore']).optional(),
    policy: policySchema.optional(),
    options: z
      .object({ timeout: z.number().positive().optional(), launcherArgs: z.array(z.string()).optional() })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((t, ctx) => {
    const p = t.policy;
    if (p?.placement === Placement.HOST_NAME && !p.hostName) ctx.addIssue({ code: 'custom', path: ['policy', 'hostName'], message: 'HOST_NAME placement needs hostName' });
    if (p?.gpuAffinity && p.gpus !== undefined && p.gpus !== p.gpuAffinity.length) {
      ctx.addIssue({ code: 'custom', path: ['policy', 'gpus'], message: 'gpus and gpuAffinity disagree' });
    }
  });

const MANAGED = new Set(['target', 'args', 'kwargs']);

/** How the HPC backend runs a task: Dragon's four routing modes. */
export type JobShape =
  | { mode: 'parallel'; groups: Array<{ count: number; template: ProcessTemplate }> }
  | { mode: 'process'; template: ProcessTemplate }
  | { mode: 'native'; template: ProcessTemplate };

/** Reads `processTemplate` / `processTemplates` from a task's backend kwargs. */
export function jobShape(uid: string, kwargs: Record<string, unknown>, isFunction: boolean): JobShape {
  const checkOne = (raw: unknown, path: string): ProcessTemplate => {
    if (raw && typeof raw === 'object') {
      for (const key of Object.keys(raw)) {
        if (MANAGED.has(key)) {
          throw new TaskValidationError(
            `Invalid task ${uid}: ${path}.${key} is not allowed: use ComputeTask.${key === 'target' ? 'executable / function' : key === 'args' ? 'arguments / args' : 'kwargs'}`,
            uid,
            `${path}.${key}`,
          );
        }
      }
    }
    const parsed = processTemplateSchema.safeParse(raw ?? {});
    if (!parsed.success) {
      const i = parsed.error.issues[0]!;
      const field = [path, ...i.path].join('.');
      throw new TaskValidationError(`Invalid task ${uid}: ${field}: ${i.message}`, uid, field, { cause: parsed.error });
    }
    return parsed.data as ProcessTemplate;
  };
  if (kwargs.processTemplates !== undefined) {
    const raw = kwargs.processTemplates;
    if (!Array.isArray(raw) || raw.length === 0) {
      throw new TaskValidationError(
        `Invalid task ${uid}: taskBackendSpecificKwargs.processTemplates must be a non-empty array of [count, template]`,
        uid,
        'taskBackendSpecificKwargs.processTemplates',
      );
    }
    const groups = raw.map((entry, i) => {
      const path = `taskBackendSpecificKwargs.processTemplates.${i}`;
      if (!Array.isArray(entry) || entry.length !== 2 || !Number.isInteger(entry[0]) || entry[0] < 1) {
        throw new TaskValidationError(`Invalid task ${uid}: ${path} must be [count >= 1, template]`, uid, path);
      }
      return { count: entry[0] as number, template: checkOne(entry[1], `${path}.1`) };
    });
    return { mode: 'parallel', groups };
  }
  if (kwargs.processTemplate !== undefined) return { mode: 'process', template: checkOne(kwargs.processTemplate, 'taskBackendSpecificKwargs.processTemplate') };
  return isFunction ? { mode: 'native', template: {} } : { mode: 'process', template: {} };
}
