// The options of each built-in backend, checked by its constructor (so `create()` rejects).
import { z } from 'zod';
import { BackendError } from '../../errors.js';
import { policySchema } from '../../hpc/process-template.js';
import { parseResources } from '../../distributed/protocol.js';
import { count, countOrZero, inferenceShape, name, optionsObject, optionsProblem, positiveMs } from './check.js';

const concurrent = optionsObject({
  name: name().optional(),
  executor: z.enum(['threads', 'processes', 'inline']).optional(),
  maxWorkers: count().optional(),
  maxProcesses: count().optional(),
  spawners: count().optional(),
  spawner: z.enum(['native', 'node']).optional(),
  maxOutputBytes: countOrZero().optional(),
  keepProcessGroup: z.boolean().optional(),
});

const node = z.strictObject({
  hostname: name(),
  cpus: count(),
  gpus: z.array(z.number().int().min(0), { error: 'expected an array of GPU ids, e.g. [] or [0, 1]' }),
});

const hpc = optionsObject({
  name: name().optional(),
  launcher: z.enum(['local', 'slurm', 'mpi']).optional(),
  nodes: z.array(node).min(1, { error: 'expected at least one node (leave it out to discover them)' }).optional(),
  oversubscribe: count().optional(),
  spawner: z.enum(['native', 'node']).optional(),
  maxOutputBytes: countOrZero().optional(),
});

const fn = (what: string) => z.custom<(...a: never[]) => unknown>((v) => typeof v === 'function', { error: `expected ${what}` });

const distributed = optionsObject({
  name: name().optional(),
  connection: z.union([name(), z.looseObject({})], { error: 'expected a Redis URL or ioredis options' }).optional(),
  cluster: z
    .looseObject({ start: fn('a start(connection, prefix) method'), close: fn('a close() method') }, { error: 'expected a WorkerCluster (LocalCluster, SlurmCluster or one of yours)' })
    .optional(),
  resources: z
    .strictObject({
      nWorkers: count().optional(),
      workerResources: z
        .string()
        .refine(
          (s) => {
            try {
              parseResources(s);
              return true;
            } catch {
              return false;
            }
          },
          { error: 'expected NAME=number[,NAME=number], e.g. "GPU=1,CPU=4"' },
        )
        .optional(),
      concurrency: count().optional(),
    })
    .optional(),
  prefix: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, { error: 'expected letters, digits, _ and -' })
    .optional(),
  workerTimeout: positiveMs().optional(),
  redisTimeoutMs: positiveMs().optional(),
});

const url = name().refine((s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol), { error: 'expected an http(s) URL, e.g. http://127.0.0.1:8000/v1' });

const openai = optionsObject({
  name: name().optional(),
  endpoint: url,
  model: name().optional(),
  apiKey: z.string().optional(),
  maxResponseBytes: count().optional(),
  ...inferenceShape,
});

const vllm = optionsObject({
  name: name().optional(),
  model: name(),
  servedModelName: name().optional(),
  port: z.number().int().min(1).max(65_535, { error: 'expected a port 1-65535' }).optional(),
  host: name().optional(),
  tpSize: count().optional(),
  gpus: z.array(z.number().int().min(0)).optional(),
  policy: policySchema.optional(),
  command: z.union([z.array(z.string()).min(1), fn('a function')], { error: 'expected an argv array or a function returning one' }).optional(),
  launcher: z.enum(['local', 'srun']).optional(),
  srunArgs: z.array(z.string()).optional(),
  env: z.record(z.string(), z.string()).optional(),
  startTimeoutMs: positiveMs().optional(),
  maxRestarts: countOrZero().optional(),
  apiKey: z.string().optional(),
  ...inferenceShape,
});

/** Throws a BackendError naming the backend class and each bad option; returns the options as given. */
function check<T>(backendClass: string, fallbackName: string, schema: z.ZodType, options: T): T {
  const problem = optionsProblem(backendClass, schema, options);
  if (problem) {
    const given = (options as { name?: unknown } | null)?.name;
    throw new BackendError(problem, typeof given === 'string' && given ? given : fallbackName);
  }
  return options;
}

const resourceDict = z.record(z.string(), z.number().min(0), { error: 'expected a resource dict of non-negative numbers, e.g. { GPU: 1 }' });
const dask = optionsObject({
  name: name().optional(),
  address: name().optional(),
  cluster: name().optional(),
  scale: count().optional(),
  resources: z.strictObject({ nWorkers: count().optional(), threadsPerWorker: count().optional(), workerResources: z.union([resourceDict, z.array(resourceDict)]).optional() }).optional(),
  slurm: z
    .strictObject({
      nodes: count().optional(),
      workersPerNode: count().optional(),
      threadsPerWorker: count().optional(),
      resources: resourceDict.optional(),
      srunArgs: z.array(z.string()).optional(),
      schedulerHost: name().optional(),
    })
    .optional(),
  python: name().optional(),
  pythonPath: z.array(name()).optional(),
  workerTimeout: positiveMs().optional(),
});

export const checkDaskOptions = <T>(o: T): T => check('DaskExecutionBackend', 'dask', dask, o);
export const checkConcurrentOptions = <T>(o: T): T => check('ConcurrentExecutionBackend', 'concurrent', concurrent, o);
export const checkHpcOptions = <T>(o: T): T => check('HpcExecutionBackend', 'hpc', hpc, o);
export const checkDistributedOptions = <T>(o: T): T => check('DistributedExecutionBackend', 'distributed', distributed, o);
export const checkOpenAIOptions = <T>(o: T): T => check('OpenAIInferenceBackend', 'openai', openai, o);
export const checkVllmOptions = <T>(o: T): T => check('VllmInferenceBackend', 'vllm', vllm, o);
