import { z } from 'zod';
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
    arguments: stringArray.optional(),
    function: z.union([z.custom<(...a: any[]) => unknown>((v) => typeof v === 'function', 'must be a function'), moduleRef]).optional(),
    args: z.array(z.unknown()).optional(),
    kwargs: z.record(z.string(), z.unknown()).optional(),
    captureStdio: z.boolean().optional(),
    inputFiles: stringArray.optional(),
    outputFiles: stringArray.optional(),
    taskBackendSpecificKwargs: localOptions.optional(),
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
    prompt: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    model: z.string().min(1).optional(),
    inferenceEndpoint: z.string().min(1).optional(),
    systemPrompt: z.string().optional(),
    temperature: z.number().min(0).optional(),
    maxTokens: z.number().int().positive().optional(),
    topP: z.number().min(0).max(1).optional(),
    topK: z.number().int().positive().optional(),
    stopSequences: z.array(z.string()).optional(),
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
