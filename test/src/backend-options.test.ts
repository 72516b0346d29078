// Every backend's options are checked by its constructor (zod at the edge), so `create()` rejects
// with a BackendError naming the backend, the option and what is allowed (issue 11 item 4, issue 12 §2).
import { afterEach, describe, expect, it } from 'vitest';
import { BackendError, ConcurrentExecutionBackend, DaskExecutionBackend, DistributedExecutionBackend, HpcExecutionBackend, OpenAIInferenceBackend, VllmInferenceBackend } from '../../src/index.js';
import { LlamaCppInferenceBackend } from '../../src/inference/llama.js';
import { expectNoProcessesLeft, markProcesses } from '../helpers.js';

const mark = markProcesses();
afterEach(async () => {
  await expectNoProcessesLeft(mark);
});

/** The constructor throws a BackendError whose message matches every pattern; create() rejects alike. */
async function refused(make: () => unknown, create: () => Promise<unknown>, backend: string, ...patterns: RegExp[]): Promise<void> {
  let error: unknown;
  try {
    make();
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(BackendError);
  expect((error as BackendError).backend).toBe(backend);
  for (const p of patterns) expect((error as Error).message).toMatch(p);
  await expect(create()).rejects.toBeInstanceOf(BackendError);
}

describe('ConcurrentExecutionBackend', () => {
  const both = (o: unknown) => [() => new ConcurrentExecutionBackend(o as never), () => ConcurrentExecutionBackend.create(o as never)] as const;

  it.each(['process', 'ThreadPoolExecutor', 'bogus'])('executor %s names the allowed executors', async (executor) => {
    await refused(...both({ executor }), 'concurrent', /ConcurrentExecutionBackend/, /at executor/, /"threads"\|"processes"\|"inline"/);
  });

  it.each([0, -3, Number.NaN, 'four', 1.5, Infinity])('maxWorkers %s is refused (it would leave every task QUEUED)', async (maxWorkers) => {
    await refused(...both({ maxWorkers }), 'concurrent', /at maxWorkers/, /expected a whole number ≥ 1/);
  });

  it('maxProcesses 0 and spawners 0 are refused; the message says what was given', async () => {
    await refused(...both({ maxProcesses: 0 }), 'concurrent', /at maxProcesses/, /got 0/);
    await refused(...both({ spawners: 0, name: 'mine' }), 'mine', /at spawners/);
  });

  it('an unknown option is refused with the known ones listed, a snake_case one with its camelCase name', async () => {
    await refused(...both({ max_workers: 4 }), 'concurrent', /unknown option "max_workers" \(use maxWorkers\)/, /known options: name, executor, maxWorkers, maxProcesses, spawners/);
    await refused(...both({ executer: 'threads' }), 'concurrent', /unknown option "executer"/);
  });

  it('options that are not an object are refused; good options still work', async () => {
    await refused(...both(null), 'concurrent', /expected an options object/);
    await refused(...both([{ executor: 'inline' }]), 'concurrent', /expected an options object/);
    const be = await ConcurrentExecutionBackend.create({ executor: 'processes', maxWorkers: 1, maxProcesses: 2, spawners: 1, name: 'ok' });
    expect(be.maxWorkers).toBe(1);
    await be.shutdown();
    await new ConcurrentExecutionBackend().shutdown();
  });
});

describe('HpcExecutionBackend', () => {
  const both = (o: unknown) => [() => new HpcExecutionBackend(o as never), () => HpcExecutionBackend.create(o as never)] as const;

  it('launcher, nodes and oversubscribe are checked', async () => {
    await refused(...both({ launcher: 'dragon' }), 'hpc', /at launcher/, /"local"\|"slurm"\|"mpi"/);
    await refused(...both({ nodes: [] }), 'hpc', /at nodes/, /at least one node/);
    await refused(...both({ nodes: [{ hostname: 'n0', cpus: 0, gpus: [] }] }), 'hpc', /at nodes\[0\]\.cpus/);
    await refused(...both({ nodes: [{ hostname: 'n0', cpus: 2 }] }), 'hpc', /at nodes\[0\]\.gpus/, /array of GPU ids/);
    await refused(...both({ oversubscribe: 0 }), 'hpc', /at oversubscribe/);
  });
});

describe('DistributedExecutionBackend', () => {
  const both = (o: unknown) => [() => new DistributedExecutionBackend(o as never), () => DistributedExecutionBackend.create(o as never)] as const;

  it('resources, cluster, connection and timeouts are checked before anything starts', async () => {
    await refused(...both({ resources: { nWorkers: 0 } }), 'distributed', /at resources\.nWorkers/);
    await refused(...both({ resources: { n_workers: 2 } }), 'distributed', /resources/, /"n_workers"/);
    await refused(...both({ resources: { workerResources: 'GPU' } }), 'distributed', /at resources\.workerResources/, /NAME=number/);
    await refused(...both({ cluster: {} }), 'distributed', /at cluster\.start/);
    await refused(...both({ connection: 6379 }), 'distributed', /at connection/, /Redis URL/);
    await refused(...both({ workerTimeout: -1 }), 'distributed', /at workerTimeout/);
  });
});

describe('inference backends', () => {
  it('OpenAIInferenceBackend: endpoint and the common inference options', async () => {
    const both = (o: unknown) => [() => new OpenAIInferenceBackend(o as never), () => OpenAIInferenceBackend.create(o as never)] as const;
    await refused(...both({ endpoint: 'http://127.0.0.1:1/v1', maxInFlight: 0 }), 'openai', /OpenAIInferenceBackend/, /at maxInFlight/);
    await refused(...both({ endpoint: 'not a url' }), 'openai', /at endpoint/, /http\(s\) URL/);
    await refused(...both({}), 'openai', /at endpoint/);
    await refused(...both(undefined), 'openai', /expected an options object/);
    await refused(...both({ endpoint: 'http://127.0.0.1:1/v1', api_key: 'k' }), 'openai', /"api_key" \(use apiKey\)/);
    await refused(...both({ endpoint: 'http://127.0.0.1:1/v1', requestTimeoutMs: 'soon' }), 'openai', /at requestTimeoutMs/);
    const ok = await OpenAIInferenceBackend.create({ endpoint: 'http://127.0.0.1:1/v1', maxInFlight: 2, maxBatchSize: 4, requestTimeoutMs: 0 });
    await ok.shutdown();
  });

  it('VllmInferenceBackend: model, launcher, port, tpSize', async () => {
    const both = (o: unknown) => [() => new VllmInferenceBackend(o as never), () => VllmInferenceBackend.create(o as never)] as const;
    await refused(...both({}), 'vllm', /VllmInferenceBackend/, /at model/);
    await refused(...both({ model: 'm', launcher: 'slurm' }), 'vllm', /at launcher/, /"local"\|"srun"/);
    await refused(...both({ model: 'm', port: 70_000 }), 'vllm', /at port/);
    await refused(...both({ model: 'm', tp_size: 2 }), 'vllm', /"tp_size" \(use tpSize\)/);
    await refused(...both({ model: 'm', maxBatchSize: 0 }), 'vllm', /at maxBatchSize/);
  });

  it('LlamaCppInferenceBackend: modelPath, parallel, maxInFlight', async () => {
    const both = (o: unknown) => [() => new LlamaCppInferenceBackend(o as never), () => LlamaCppInferenceBackend.create(o as never)] as const;
    await refused(...both({}), 'llama', /LlamaCppInferenceBackend/, /at modelPath/);
    await refused(...both({ modelPath: 'x.gguf', parallel: 0 }), 'llama', /at parallel/);
    await refused(...both({ modelPath: 'x.gguf', maxInFlight: -1 }), 'llama', /at maxInFlight/);
    await refused(...both({ modelPath: 'x.gguf', context_size: 512 }), 'llama', /"context_size" \(use contextSize\)/);
  });
});

describe('DaskExecutionBackend', () => {
  const both = (o: unknown) => [() => new DaskExecutionBackend(o as never), () => DaskExecutionBackend.create(o as never)] as const;

  it('bad counts, resource dicts and unknown (snake_case) keys are refused before any Python starts', async () => {
    await refused(...both({ resources: { nWorkers: 0 } }), 'dask', /DaskExecutionBackend/, /at resources\.nWorkers/, /whole number ≥ 1/);
    await refused(...both({ cluster: 'distributed.LocalCluster()', scale: -1 }), 'dask', /at scale/);
    await refused(...both({ resources: { workerResources: { GPU: -1 } } }), 'dask', /resources\.workerResources/);
    await refused(...both({ slurm: { nodes: 'two' } }), 'dask', /at slurm\.nodes/);
    await refused(...both({ n_workers: 2 }), 'dask', /unknown option "n_workers"/);
  });
});
