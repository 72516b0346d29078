import { z } from 'zod';
import type { RetryPolicy } from '../machines/task-guards.js';
import { TaskValidationError } from './errors.js';

/** A user uid names files, so only path-safe characters. */
export const UID_PATTERN = /^[A-Za-z0-9._:-]{1,128}$/;

const uid = z.string().regex(UID_PATTERN, 'must be 1-128 characters of [A-Za-z0-9._:-]');
const backendName = z.string().min(1);
const stringArray = z.array(z.string());

const moduleRef = z.object({
  module: z.string().min(1),
  export: z.string().min(1).optional(),
});

const pythonRef = z.strictObject({ python: z.string().min(1) });
/** A task or a future returned by submitTasks (both are thenables); which one is told apart at submit. */
const isThenable = (v: unknown): boolean => (typeof v === 'object' || typeof v === 'function') && v !== null && typeof (v as { then?: unknown }).then === 'function';
const dependency = z.custom<PromiseLike<unknown>>(isThenable, 'must be a task or a future returned by submitTasks');

/** `retries: n` or `{ max, delay?, factor?, on? }`, normalised to a full RetryPolicy. */
const retries = z
  .union([
    z.number().int().min(0),
    z.strictObject({
      max: z.number().int().min(0),
      delay: z.number().min(0).finite().optional(),
      factor: z.number().positive().finite().optional(),
      on: z.enum(['infrastructure', 'any']).optional(),
    }),
  ])
  .transform(
    (r): RetryPolicy =>
      typeof r === 'number' ? { max: r, delay: 1000, factor: 2, on: 'infrastructure' } : { max: r.max, delay: r.delay ?? 1000, factor: r.factor ?? 2, on: r.on ?? 'infrastructure' },
  );

/** Fields of the task graph, common to ComputeTask and AITask. */
const graphFields = {
  dependsOn: z.array(dependency).optional(),
  retries: retries.optional(),
};

const localOptions = z.looseObject({
  shell: z.union([z.boolean(), z.string()]).optional(),
  cwd: z.string().optional(),
  env: z.record(z.string(), z.string()).optional(),
  timeout: z.number().positive().optional(),
  keepProcessGroup: z.boolean().optional(),
});

export const computeTaskSchema = z
  .looseObject({
    uid: uid.optional(),
    backend: backendName.optional(),
    executable: z.string().min(1).optional(),
    // a task or future in `arguments` stands for its value as a string (substituted when the task starts)
    arguments: z.array(z.union([z.string(), dependency])).optional(),
    function: z.union([z.custom<(...a: any[]) => unknown>((v) => typeof v === 'function', 'must be a function'), moduleRef, pythonRef]).optional(),
    args: z.array(z.unknown()).optional(),
    kwargs: z.record(z.string(), z.unknown()).optional(),
    captureStdio: z.boolean().optional(),
    inputFiles: stringArray.optional(),
    outputFiles: stringArray.optional(),
    taskBackendSpecificKwargs: localOptions.optional(),
    ...graphFields,
  })
  .superRefine((t, ctx) => {
    const hasExe = t.executable !== undefined;
    const hasFn = t.function !== undefined;
    if (hasExe === hasFn) {
      ctx.addIssue({
        code: 'custom',
        path: [hasExe ? 'function' : 'executable'],
        message: 'exactly one of executable / function is required',
      });
    }
  });

export const aiTaskSchema = z
  .looseObject({
    uid: uid.optional(),
    backend: backendName.optional(),
    // a function of the results of `dependsOn`, evaluated when they are DONE
    prompt: z.union([z.string().min(1), z.array(z.string().min(1)).min(1), z.custom<(...a: any[]) => unknown>((v) => typeof v === 'function', 'must be a function')]),
    model: z.string().min(1).optional(),
    inferenceEndpoint: z.string().min(1).optional(),
    systemPrompt: z.string().optional(),
    temperature: z.number().min(0).optional(),
    maxTokens: z.number().int().positive().optional(),
    topP: z.number().min(0).max(1).optional(),
    topK: z.number().int().positive().optional(),
    stopSequences: z.array(z.string()).optional(),
    ...graphFields,
  })
  .superRefine((t, ctx) => {
    if (t.model === undefined && t.inferenceEndpoint === undefined && t.backend === undefined) {
      ctx.addIssue({ code: 'custom', path: ['model'], message: 'one of model / inferenceEndpoint / backend is required' });
    }
  });

/** Parses with a schema; throws TaskValidationError naming the task uid and the first bad field. */
export function validateTask<T>(schema: z.ZodType<T>, input: unknown, uidForMessage: string): T {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues;
  const field = issues[0]?.path.join('.') || '(task)';
  const detail = issues.map((i) => `${i.path.join('.') || '(task)'}: ${i.message}`).join('; ');
  throw new TaskValidationError(`Invalid task ${uidForMessage}: ${detail}`, uidForMessage, field, { cause: parsed.error });
}
