import { randomBytes } from 'node:crypto';
import { createActor, fromCallback, fromPromise, waitFor, type Actor } from 'xstate';
import { launchService, stopService, watchService, type ServiceHandle } from '../../../actors/inference/model-service.js';
import { inferenceError } from '../../../actors/inference/openai-client.js';
import { freePort } from '../../../actors/process/free-port.js';
import { modelServiceMachine, type ModelServiceEvent, type ServiceProcess } from '../../../machines/model-service.machine.js';
import { BackendError } from '../../errors.js';
import type { Policy } from '../../hpc/policy.js';
import { srunArgs } from '../../hpc/srun-args.js';
import type { InferenceOptions } from './inference-backend.js';
import { OpenAICompatibleBackend } from './openai-backend.js';
import { checkVllmOptions } from '../options/schemas.js';

export interface ServiceCommandInput {
  model: string;
  servedModelName: string;
  host: string;
  port: number;
  tpSize: number;
}

export interface VllmInferenceBackendOptions extends InferenceOptions {
  name?: string;
  /** the model the server loads */
  model: string;
  /** the name it is served under, when not `model` (vLLM's --served-model-name); tasks default to it */
  servedModelName?: string;
  /** default: a free port */
  port?: number;
  /** the address the server binds and is reached at (default 127.0.0.1) */
  host?: string;
  /** tensor-parallel size (default 1) */
  tpSize?: number;
  /** GPU ids the service may use (CUDA_VISIBLE_DEVICES locally; their count with srun) */
  gpus?: number[];
  /**
   * Placement as for HPC tasks: `gpuAffinity` (or `gpus`, a count) gives the service's GPUs and, with
   * srun, `hostName` pins the step to that node (`--nodelist`).
   */
  policy?: Policy;
  /**
   * The server command. Default `vllm serve MODEL --served-model-name NAME --host H --port P
   * --tensor-parallel-size N`. An array may use `{model}`, `{servedModelName}`, `{host}`, `{port}`, `{tpSize}`; any OpenAI-compatible server with `/health` works.
   */
  command?: string[] | ((o: ServiceCommandInput) => string[]);
  /** 'local' (default) or 'srun' (a SLURM step: `srun --ntasks=1 --gpus=N …`, inside an allocation or not) */
  launcher?: 'local' | 'srun';
  /** extra arguments for srun */
  srunArgs?: string[];
  env?: Record<string, string>;
  /** ms to wait for the health check (default 600,000) */
  startTimeoutMs?: number;
  /** restarts after a crash before the backend gives up (default 3) */
  maxRestarts?: number;
  apiKey?: string;
}

type ServiceActor = Actor<typeof modelServiceMachine>;

/** The client side of the service: requests go to its endpoint under the served name. */
function clientOptions(o: VllmInferenceBackendOptions) {
  return { ...o, model: o.servedModelName ?? o.model, name: o.name ?? 'vllm', endpoint: `http://${o.host ?? '127.0.0.1'}:${o.port ?? 0}/v1` };
}

/**
 * A managed model service: launches the server (vLLM by default, any OpenAI-compatible command),
 * waits for `/health`, restarts it (bounded) when it dies — requests wait for it and retry — and
 * stops it on shutdown. Requests go to `endpoint` as with OpenAIInferenceBackend.
 *
 * @example
 * const vllm = await VllmInferenceBackend.create({ model: 'meta-llama/Llama-3.1-8B-Instruct', tpSize: 2, gpus: [0, 1] });
 */
export class VllmInferenceBackend extends OpenAICompatibleBackend {
  private readonly service: VllmInferenceBackendOptions;
  private serviceActor: ServiceActor | null = null;

  constructor(options: VllmInferenceBackendOptions) {
    super(clientOptions(checkVllmOptions(options)));
    this.service = options;
  }

  static async create(options: VllmInferenceBackendOptions): Promise<VllmInferenceBackend> {
    return new VllmInferenceBackend(options).start();
  }

  /** The service actor's state: idle | starting | running | restarting | stopping | failed | stopped. */
  get serviceState(): string {
    return String(this.serviceActor?.getSnapshot().value ?? 'idle');
  }

  /** The server's pid while it runs (for monitoring, or to test crash recovery). */
  get servicePid(): number | undefined {
    return (this.serviceActor?.getSnapshot().context.process as ServiceProcess | null)?.pid;
  }

  protected override async onStart(): Promise<void> {
    const o = this.service;
    const host = o.host ?? '127.0.0.1';
    const port = o.port ?? (await freePort());
    this.endpointUrl = `http://${host}:${port}/v1`;
    const input: ServiceCommandInput = { model: o.model, servedModelName: o.servedModelName ?? o.model, host, port, tpSize: o.tpSize ?? 1 };
    const command =
      typeof o.command === 'function'
        ? o.command(input)
        : (o.command ?? ['vllm', 'serve', '{model}', '--served-model-name', '{servedModelName}', '--host', '{host}', '--port', '{port}', '--tensor-parallel-size', '{tpSize}']).map((a) =>
            a.replace(/\{(model|servedModelName|host|port|tpSize)\}/g, (_, k: keyof ServiceCommandInput) => String(input[k])),
          );
    const gpus = o.gpus ?? o.policy?.gpuAffinity ?? Array.from({ length: o.policy?.gpus ?? 0 }, (_, i) => i);
    const node = o.policy?.hostName;
    const argv = o.launcher === 'srun' ? ['srun', ...srunArgs({ jobName: `rhapsody-svc-${randomBytes(4).toString('hex')}`, gpus: gpus.length, node, extra: o.srunArgs }, command)] : command;
    const env = { ...(o.launcher !== 'srun' && gpus.length ? { CUDA_VISIBLE_DEVICES: gpus.join(',') } : {}), ...o.env };
    const launch = { argv, env, healthUrl: `http://${host}:${port}/health`, startTimeoutMs: o.startTimeoutMs, onLine: (line: string) => this.reportProgress({ log: line }) };
    const logic = modelServiceMachine.provide({
      actors: {
        launch: fromPromise(({ signal }) => launchService(launch, signal)),
        watch: fromCallback<ModelServiceEvent, { process: ServiceProcess }>(({ sendBack, input: i }) => watchService(i.process as ServiceHandle, (reason) => sendBack({ type: 'EXITED', reason }))),
        stop: fromPromise(({ input: i }) => stopService(i.process as ServiceHandle | null)),
      },
    });
    const actor = createActor(logic, { id: `service:${this.name}`, input: { name: this.name, maxRestarts: o.maxRestarts }, inspect: this._inspectHub.inspect });
    actor.subscribe({ error: () => undefined });
    this.serviceActor = actor.start();
    this.reportServiceProgress(actor, argv, launch.healthUrl, o.startTimeoutMs ?? 600_000);
    actor.send({ type: 'START' });
    const s = await waitFor(actor, (x) => x.value === 'running' || x.status === 'done', { timeout: Infinity });
    if (s.value !== 'running') {
      throw new BackendError(`${command[0]} did not become healthy at ${launch.healthUrl}: ${s.context.error}`, this.name);
    }
  }

  /** `state$`'s detail follows the service: launching and waiting for health (every 5 s), healthy, restarting, failed. */
  private reportServiceProgress(actor: ServiceActor, argv: string[], healthUrl: string, timeoutMs: number): void {
    let since = Date.now();
    let ticker: NodeJS.Timeout | null = null;
    const waiting = () => `waiting for ${healthUrl}: ${Math.round((Date.now() - since) / 1000)} s of ${Math.round(timeoutMs / 1000)} s (${argv.join(' ')})`;
    const stopTicker = () => ticker && (clearInterval(ticker), (ticker = null));
    actor.subscribe((s) => {
      const { restarts, maxRestarts, error } = s.context;
      stopTicker();
      if (s.value === 'starting') {
        since = Date.now();
        this.reportProgress({ detail: waiting() });
        ticker = setInterval(() => this.reportProgress({ detail: waiting() }), 5000);
        ticker.unref();
      } else if (s.value === 'running') this.reportProgress({ detail: `healthy at ${this.target}` });
      else if (s.value === 'restarting') this.reportProgress({ detail: `restarting (${restarts} of ${maxRestarts}) after: ${error}` });
      else if (s.value === 'failed') this.reportProgress({ detail: `failed: ${error}` });
    });
  }

  /** Requests wait while the service (re)starts; a service that failed for good fails them at once. */
  protected override async ready(signal: AbortSignal): Promise<void> {
    const actor = this.serviceActor;
    if (!actor || actor.getSnapshot().value === 'running') return;
    const s = await waitFor(actor, (x) => x.value === 'running' || x.status === 'done', { timeout: Infinity, signal });
    if (s.value !== 'running') {
      throw inferenceError(`service ${this.name} at ${this.target} is ${String(s.value)}: ${s.context.error}`, this.name, false);
    }
  }

  protected override async onShutdown(): Promise<void> {
    await super.onShutdown();
    const actor = this.serviceActor;
    if (!actor) return;
    actor.send({ type: 'STOP' });
    await waitFor(actor, (x) => x.status === 'done', { timeout: 30_000 }).catch(() => undefined);
    actor.stop();
  }
}
