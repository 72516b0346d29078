import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { createActor, type Actor, type AnyActorRef } from 'xstate';
import { DaskClient, findPython, type DaskBridgeConfig, type DaskDone, type DaskJob } from '../../../actors/dask/dask-client.js';
import { DaskSlurmWorkers, type DaskSlurmOptions } from '../../../actors/dask/dask-slurm-workers.js';
import { callArguments } from '../../../actors/function-pool/execution-sink.js';
import { moduleSpecifier } from '../../../actors/function-pool/worker-pool.js';
import { daskClientMachine } from '../../../machines/dask-client.machine.js';
import type { TaskMachineEvent } from '../../../machines/task.machine.js';
import { decodeError } from '../../../actors/codec/wire-codec.mjs';
import { BackendError, ResourceError, TaskExecutionError, TaskValidationError } from '../../errors.js';
import type { InspectOption } from '../../internal/inspect-hub.js';
import { checkShippable, shipFunction } from '../../internal/function-shipping.js';
import { processFailure, stdoutOf } from '../../run/outcome.js';
import type { ComputeTaskSpec, Outcome, TaskHandle, TaskSpec } from '../../run/task-handle.js';
import type { ModuleFunctionRef } from '../../task-types.js';
import { Backend } from '../backend.js';
import { checkDaskOptions } from '../options/schemas.js';
import { pythonRefOf, PYTHON_REF } from '../python-function.js';

export interface DaskExecutionBackendOptions {
  name?: string;
  /** an existing scheduler, e.g. `'tcp://host:8786'` (left running on shutdown) */
  address?: string;
  /** a Python expression or `'module:factory'` that makes a cluster (closed on shutdown) */
  cluster?: string;
  /** `cluster.scale(n)` after making it; create() waits for n workers */
  scale?: number;
  /** the default LocalCluster */
  resources?: { nWorkers?: number; threadsPerWorker?: number; workerResources?: Record<string, number> | Array<Record<string, number>> };
  /** Dask workers as SLURM job steps */
  slurm?: DaskSlurmOptions;
  /** the interpreter (default: the first of python3, /usr/bin/python3, python that can import distributed) */
  python?: string;
  /** folders added to PYTHONPATH of the client and of every worker the backend starts */
  pythonPath?: string[];
  /** ms create() waits for the workers it expects (default 120,000) */
  workerTimeout?: number;
}

/** What one task run ends with: the task chart event to send. */
export type DaskOutcome = Extract<TaskMachineEvent, { type: 'COMPLETE' | 'FAIL' | 'TIMEOUT' | 'CANCEL' }>;

type ComputeTask = ComputeTaskSpec;

/** The run loop's outcome for a chart event. */
function toOutcome(e: DaskOutcome): Outcome {
  switch (e.type) {
    case 'COMPLETE':
      return { status: 'done', returnValue: e.returnValue, exitCode: e.exitCode, stdout: e.stdout, stderr: e.stderr };
    case 'FAIL':
      return { status: 'failed', error: e.error as Error, exitCode: e.exitCode, stdout: e.stdout, stderr: e.stderr, infrastructure: e.infrastructure };
    case 'TIMEOUT':
      return { status: 'failed', error: e.error as Error, timedOut: true };
    default:
      return { status: 'canceled' };
  }
}

const MODES = ['address', 'cluster', 'slurm'] as const;

/**
 * The user document's Dask backend, on a real `dask.distributed` cluster: an existing scheduler
 * (`address`), a cluster made in Python (`cluster`, `scale`), Dask workers as SLURM steps
 * (`slurm`), or a LocalCluster from `resources`. Dask has no Node client, so a small Python client
 * process (actors/dask/dask_bridge.py) drives it; executables, JS functions (run by `node` on the
 * workers) and Python callables by reference (`function: { python: 'pkg.mod:fn' }`) run there.
 *
 * @example
 * const dask = await DaskExecutionBackend.create({ resources: { nWorkers: 2 } });
 * const t = new ComputeTask({ function: { python: 'operator:add' }, args: [2, 3] });
 */
export class DaskExecutionBackend extends Backend {
  readonly kind = 'execution' as const;
  private readonly options: DaskExecutionBackendOptions;
  private readonly mode: 'address' | 'cluster' | 'slurm' | 'local';
  private client: DaskClient | null = null;
  private slurmWorkers: DaskSlurmWorkers | null = null;
  /** makes every Dask key unique per backend and run: a reused uid never meets an old result */
  private readonly keyPrefix = randomBytes(3).toString('hex');
  private runCount = 0;
  private readonly clientActor: Actor<typeof daskClientMachine>;

  constructor(options: DaskExecutionBackendOptions = {}) {
    super(options.name ?? 'dask');
    checkDaskOptions(options);
    this.options = options;
    const given = MODES.filter((m) => options[m] !== undefined);
    if (given.length > 1) throw new BackendError(`DaskExecutionBackend ${this.name}: options ${given.join(' and ')} exclude each other; pass one`, this.name);
    if (options.scale !== undefined && options.cluster === undefined) throw new BackendError(`DaskExecutionBackend ${this.name}: option "scale" needs "cluster"`, this.name);
    if (options.resources !== undefined && given.length)
      throw new BackendError(`DaskExecutionBackend ${this.name}: option "resources" describes the default LocalCluster; it does not apply with "${given[0]}"`, this.name);
    this.mode = given[0] ?? 'local';
    this.clientActor = createActor(daskClientMachine, { id: `dask-client:${this.name}`, input: { backend: this.name, mode: this.mode }, inspect: this._inspectHub.inspect });
    this.clientActor.start();
  }

  /** Creates and starts a backend (Python's `await DaskExecutionBackend(...)`). */
  static async create(options: DaskExecutionBackendOptions = {}): Promise<DaskExecutionBackend> {
    return new DaskExecutionBackend(options).start();
  }

  /** The scheduler's address (after start). */
  get schedulerAddress(): string | null {
    return this.client?.ready.scheduler ?? null;
  }

  /** The client process's chart (starting → ready → closing → closed | failed). */
  get clientState(): ReturnType<typeof this.clientActor.getSnapshot> {
    return this.clientActor.getSnapshot();
  }

  /** @internal pid of the Python client process and of SLURM worker steps (leak checks, the inspector). */
  get _pids(): { client: number | null; slurm: number[] } {
    return { client: this.client?.pid ?? null, slurm: this.slurmWorkers?.pids ?? [] };
  }

  override _attachInspector(option: InspectOption): void {
    this._inspectHub.attach(option, [this._actor, this.clientActor as AnyActorRef]);
  }

  accepts(spec: TaskSpec): boolean {
    return spec.kind === 'compute';
  }

  override validate(spec: TaskSpec): void {
    const t = spec as ComputeTask;
    const ref = pythonRefOf(t.function);
    if (ref !== null && !PYTHON_REF.test(ref)) {
      throw new TaskValidationError(`Invalid task ${t.uid}: function.python must be 'package.module:function' (got ${JSON.stringify(ref)})`, t.uid, 'function.python');
    }
    if (typeof t.function === 'function') checkShippable(t.uid, t.function, 'Dask worker (as JSON)', 'json');
    const res = t.taskBackendSpecificKwargs.resources;
    if (res !== undefined && (res === null || typeof res !== 'object' || Object.values(res).some((v) => typeof v !== 'number' || !(v >= 0)))) {
      throw new TaskValidationError(
        `Invalid task ${t.uid}: taskBackendSpecificKwargs.resources must map resource names to non-negative numbers, e.g. { GPU: 1 }`,
        t.uid,
        'taskBackendSpecificKwargs.resources',
      );
    }
    if (t.executable === undefined) {
      for (const [field, value] of [
        ['args', t.args],
        ['kwargs', t.kwargs],
      ] as const) {
        try {
          JSON.stringify(value);
        } catch (err) {
          throw new TaskValidationError(`Invalid task ${t.uid}: ${field} must be JSON values for a Dask worker (${(err as Error).message})`, t.uid, field);
        }
      }
    }
  }

  protected async onStart(): Promise<void> {
    const o = this.options;
    try {
      const python = await findPython(o.python);
      const waitS = (o.workerTimeout ?? 120_000) / 1000;
      const config: DaskBridgeConfig =
        this.mode === 'address'
          ? { mode: 'address', address: o.address }
          : this.mode === 'cluster'
            ? { mode: 'cluster', cluster: o.cluster, scale: o.scale, waitWorkers: o.scale, workerTimeout: waitS }
            : this.mode === 'slurm'
              ? { mode: 'scheduler', host: o.slurm!.schedulerHost ?? hostname() }
              : { mode: 'local', local: o.resources ?? { nWorkers: 2 }, waitWorkers: o.resources?.nWorkers ?? 2, workerTimeout: waitS };
      const client = await DaskClient.start({
        python,
        pythonPath: o.pythonPath,
        config,
        timeoutMs: o.workerTimeout ?? 120_000,
        events: {
          workers: (workers) => this.toClient({ type: 'WORKERS', workers, slurmSteps: this.slurmWorkers?.pids }),
          died: (reason) => this.clientDied(reason),
        },
      });
      this.client = client;
      if (this.mode === 'slurm') {
        this.slurmWorkers = new DaskSlurmWorkers(o.slurm!, python, o.pythonPath);
        const n = await this.slurmWorkers.start(client.ready.scheduler, this.keyPrefix);
        try {
          client.ready.workers = await client.waitWorkers(n, waitS);
        } catch (err) {
          throw new Error(`${(err as Error).message}${this.slurmWorkers.log ? `; srun: ${this.slurmWorkers.log.slice(-800)}` : ''}`);
        }
      }
      const r = client.ready;
      this.toClient({ type: 'READY', pid: r.pid, python, scheduler: r.scheduler, cluster: r.cluster, dashboard: r.dashboard, workers: r.workers });
      this.toClient({ type: 'WORKERS', workers: r.workers, slurmSteps: this.slurmWorkers?.pids });
    } catch (err) {
      this.toClient({ type: 'FAILED', error: (err as Error).message });
      await this.slurmWorkers?.close();
      await this.client?.close(5_000);
      throw err;
    }
  }

  protected async onShutdown(): Promise<void> {
    this.toClient({ type: 'CLOSE' });
    await this.slurmWorkers?.close();
    await this.client?.close();
    this.toClient({ type: 'CLOSED' });
    this.clientActor.stop();
  }

  /** Chart events for the client process; none once it is closed or failed. */
  private toClient(event: Parameters<typeof this.clientActor.send>[0]): void {
    if (this.clientActor.getSnapshot().status === 'active') this.clientActor.send(event);
  }

  private clientDied(reason: string): void {
    this.toClient({ type: 'FAILED', error: reason });
    void this.slurmWorkers?.close();
  }

  /** One task on Dask; cancel aborts the handle's signal (the command's process group is killed on the worker). */
  protected async run(handle: TaskHandle): Promise<Outcome> {
    handle.start();
    return toOutcome(await this.runTask(handle.spec as ComputeTaskSpec, handle.signal));
  }

  // ---- one task run -------------------------------------------------------------------------

  /** Runs one task on Dask and says how it ended; cancel = abort the signal. Never rejects. */
  async runTask(task: ComputeTask, signal: AbortSignal): Promise<DaskOutcome> {
    if (signal.aborted) return { type: 'CANCEL' };
    if (!this.client) return { type: 'FAIL', error: new BackendError(`Task ${task.uid}: backend ${this.name} has no Dask client`, this.name), infrastructure: true };
    let job: DaskJob;
    try {
      job = this.jobOf(task);
    } catch (err) {
      return { type: 'FAIL', error: err as Error };
    }
    const done = await this.client.run(job, signal);
    if (signal.aborted && (done.ok || done.category === 'canceled')) return { type: 'CANCEL' };
    return this.outcomeOf(task, done);
  }

  private jobOf(task: ComputeTask): DaskJob {
    const o = task.taskBackendSpecificKwargs;
    const id = `${task.uid}-${this.keyPrefix}${(this.runCount++).toString(36)}`;
    const resources = o.resources as Record<string, number> | undefined;
    const timeout = o.timeout !== undefined ? o.timeout / 1000 : undefined;
    if (task.executable !== undefined) {
      return { id, kind: 'cmd', resources, spec: { file: task.executable, args: [...task.arguments], shell: o.shell, cwd: o.cwd, env: o.env, timeout } };
    }
    const ref = pythonRefOf(task.function);
    if (ref !== null) return { id, kind: 'py', resources, spec: { ref, args: [...task.args], kwargs: task.kwargs ?? {} } };
    const fn = task.function!;
    const shipped = typeof fn === 'function' ? shipFunction(fn) : null;
    const code = shipped
      ? shipped.wire
        ? { source: shipped.source, wire: shipped.wire }
        : { source: shipped.source }
      : { module: moduleSpecifier((fn as ModuleFunctionRef).module), export: (fn as ModuleFunctionRef).export };
    return { id, kind: 'js', resources, spec: { ...code, args: callArguments(task), node: process.execPath, cwd: o.cwd, timeout } };
  }

  private outcomeOf(task: ComputeTask, d: DaskDone): DaskOutcome {
    const uid = task.uid;
    if (!d.ok) {
      const e = d.error;
      if (d.category === 'canceled') return { type: 'CANCEL' };
      if (d.category === 'resource') return { type: 'FAIL', error: new ResourceError(`Task ${uid}: ${e.message}`, uid) };
      // infrastructure: the client process, the scheduler or a result lost (category 'backend'), or
      // the workers that ran it died more often than the scheduler's allowed-failures (KilledWorker)
      if (d.category === 'backend') return { type: 'FAIL', error: new BackendError(`Task ${uid}: ${e.message}`, this.name), infrastructure: true };
      if (e.type === 'KilledWorker') {
        return { type: 'FAIL', error: new TaskExecutionError(`Task ${uid}: its Dask workers kept dying (${e.type}: ${e.message})`, { taskUid: uid }), infrastructure: true };
      }
      if (d.category === 'task' && task.executable === undefined && pythonRefOf(task.function) !== null) {
        const ref = pythonRefOf(task.function);
        const message = e.reference ? `cannot load ${ref}: ${e.message}` : e.message;
        return { type: 'FAIL', error: decodeError({ name: e.type, message, stack: `${e.type}: ${message}\n${e.traceback}` }) };
      }
      return { type: 'FAIL', error: new TaskExecutionError(`Task ${uid}: ${e.type}: ${e.message}`, { taskUid: uid, stderr: e.traceback || null }) };
    }
    if (d.kind === 'py') return { type: 'COMPLETE', returnValue: d.data, stdout: stdoutOf(d.data) };
    const proc = d.kind === 'js' ? d.data.node : d.data;
    // how the process ended, as every backend that runs processes says it
    const end = { exitCode: proc.rc, signal: proc.signal, stderr: String(proc.stderr ?? ''), killed: proc.killed };
    if (proc.killed === 'timeout') return { type: 'TIMEOUT', error: processFailure(uid, end, { timeoutMs: task.taskBackendSpecificKwargs.timeout }) };
    if (proc.killed === 'canceled') return { type: 'FAIL', error: new BackendError(`Task ${uid}: Dask released the task while it ran`, this.name), infrastructure: true };
    if (d.kind === 'js') {
      const r = d.data.result as { ok: boolean; value?: unknown; error?: { type: string; message: string; traceback: string } } | undefined;
      if (r?.ok) return { type: 'COMPLETE', returnValue: r.value, stdout: stdoutOf(r.value) };
      if (r) return { type: 'FAIL', error: decodeError({ name: r.error!.type, message: r.error!.message, stack: r.error!.traceback }) };
      return { type: 'FAIL', error: processFailure(uid, end, { label: '(node on the Dask worker)' }) };
    }
    if (proc.rc === 0) return { type: 'COMPLETE', exitCode: 0, stdout: proc.stdout, stderr: proc.stderr };
    return {
      type: 'FAIL',
      error: processFailure(uid, end, { label: `(${task.executable})` }),
      exitCode: proc.rc,
      stdout: proc.stdout,
      stderr: proc.stderr,
    };
  }
}
