import type { Launcher, LauncherKind } from '../../../actors/hpc/launcher.js';
import { LocalLauncher } from '../../../actors/hpc/local-launcher.js';
import { SlurmLauncher } from '../../../actors/hpc/slurm-launcher.js';
import { MpiLauncher } from '../../../actors/hpc/mpi-launcher.js';
import type { RunningJob } from '../../../actors/hpc/rank-group.js';
import { createActor, type AnyActorRef } from 'xstate';
import { processGroupMachine } from '../../../machines/process-group.machine.js';
import { SpawnerPool, type SpawnerKind } from '../../../actors/process/spawner-pool.js';
import { map, type Observable } from 'rxjs';
import { moduleSpecifier } from '../../../actors/function-pool/worker-pool.js';
import { BackendError, ResourceError, TaskExecutionError } from '../../errors.js';
import { rankEnv, type JobSpec, type RankCommand, type RankResult, type RankSpec } from '../../hpc/job.js';
import { jobShape, type JobShape, type ProcessTemplate } from '../../hpc/process-template.js';
import { Placement } from '../../hpc/policy.js';
import { ResourceScheduler, type NodeInfo, type RankAllocation, type RankRequest } from '../../hpc/resource-scheduler.js';
import { decodeError } from '../../../actors/codec/wire-codec.mjs';
import { checkShippable, shipFunction } from '../../internal/function-shipping.js';
import { processFailure } from '../../run/outcome.js';
import type { ComputeTaskSpec, Outcome, RankInfo, TaskHandle, TaskSpec } from '../../run/task-handle.js';
import type { ModuleFunctionRef } from '../../task-types.js';
import { Backend, type BackendSnapshot } from '../backend.js';
import { checkHpcOptions } from '../options/schemas.js';
import { refusePythonFunction } from '../python-function.js';

export interface HpcExecutionBackendOptions {
  name?: string;
  /** where ranks run: local processes (default), srun job steps, or one mpirun per job */
  launcher?: LauncherKind;
  /** the node inventory to use instead of discovery, e.g. [{ hostname: 'node-0', cpus: 8, gpus: [0, 1, 2, 3] }] */
  nodes?: NodeInfo[];
  /** process slots per CPU (default 4 on the local and MPI launchers, 1 on SLURM) */
  oversubscribe?: number;
  /** what starts rank processes (and srun/mpirun): 'native' (posix_spawn helper) or 'node'; default native where it builds */
  spawner?: SpawnerKind;
  /** bytes of each rank's stdout/stderr held in memory; past it the stream is spilled under the session directory. Default 8 MiB. */
  maxOutputBytes?: number;
}

export type { RankInfo } from '../../run/task-handle.js';

/** What the backend keeps for one job while it waits and runs (the run's slot). */
interface JobEntry {
  shape: JobShape;
  templates: ProcessTemplate[];
  requests: RankRequest[];
  allocations: RankAllocation[] | null;
}

type Job = TaskHandle<ComputeTaskSpec>;

let nextMasterPort = 29_500 + Math.floor(Math.random() * 2000);

/**
 * Parallel process groups with placement policies and a resource scheduler (Dragon's role).
 * Routing per task, as in Dragon: `processTemplates` → parallel job; `processTemplate` → one
 * process; a function without template → native function (one process); an executable without
 * template → one process.
 *
 * @example
 * const hpc = await HpcExecutionBackend.create({ nodes: [{ hostname: 'node-0', cpus: 8, gpus: [0, 1, 2, 3] }] });
 */
export class HpcExecutionBackend extends Backend {
  readonly kind = 'execution' as const;
  readonly launcherKind: LauncherKind;
  private readonly spawner: SpawnerPool;
  private readonly launcher: Launcher;
  private scheduler: ResourceScheduler | null = null;
  private readonly options: HpcExecutionBackendOptions;
  /** the running job of each process-group actor, for the chart's `stopRanks` */
  private readonly jobs = new Map<AnyActorRef, RunningJob>();
  private readonly groupLogic = processGroupMachine.provide({
    actions: { stopRanks: ({ self, event }) => this.jobs.get(self)?.kill(event.type === 'STOP' ? 'canceled' : 'peer-failed') },
  });

  /** Which spawner starts rank processes (known once started): `'native'` or `'node'`. */
  get spawnerKind(): SpawnerKind | null {
    return this.spawner.kind;
  }

  /** Backend snapshots, with the spawner in use. */
  override get state$(): Observable<BackendSnapshot & { spawner: SpawnerKind | null }> {
    return super.state$.pipe(map((s) => ({ ...s, spawner: this.spawner.kind })));
  }

  constructor(options: HpcExecutionBackendOptions = {}) {
    super(checkHpcOptions(options).name ?? 'hpc');
    this.backfill = true;
    this.options = options;
    this.spawner = new SpawnerPool({ kind: options.spawner, defaults: { maxOutputBytes: options.maxOutputBytes } });
    this.launcherKind = options.launcher ?? 'local';
    if (this.launcherKind === 'local') this.launcher = new LocalLauncher(this.spawner);
    else if (this.launcherKind === 'slurm') this.launcher = new SlurmLauncher(this.spawner);
    else if (this.launcherKind === 'mpi') this.launcher = new MpiLauncher(this.spawner);
    else throw new BackendError(`unknown launcher "${String(this.launcherKind)}" (local, slurm, mpi)`, this.name);
  }

  static async create(options: HpcExecutionBackendOptions = {}): Promise<HpcExecutionBackend> {
    return new HpcExecutionBackend(options).start();
  }

  /** The node inventory in use (after start). */
  get nodes(): NodeInfo[] {
    return this.scheduler?.inventory ?? this.options.nodes ?? [];
  }

  /** Nodes as this backend sees them (discovery, or the `nodes` option). */
  async discover(): Promise<NodeInfo[]> {
    return this.options.nodes ?? this.launcher.discover();
  }

  protected async onStart(): Promise<void> {
    await this.spawner.start();
    const nodes = await this.discover();
    if (nodes.length === 0) throw new BackendError('no nodes discovered', this.name);
    // SLURM enforces its own CPU counts; local processes and mpirun (--oversubscribe) share cores
    this.scheduler = new ResourceScheduler(nodes, this.options.oversubscribe ?? (this.launcherKind === 'slurm' ? 1 : 4));
  }

  protected async onShutdown(): Promise<void> {
    await this.spawner.close();
  }

  accepts(spec: TaskSpec): boolean {
    return spec.kind === 'compute';
  }

  override validate(spec: TaskSpec): void {
    refusePythonFunction(spec, this.name);
    const t = spec as ComputeTaskSpec;
    jobShape(t.uid, t.taskBackendSpecificKwargs, t.function !== undefined);
    if (typeof t.function === 'function') checkShippable(t.uid, t.function, 'rank process (as JSON)', 'json');
  }

  /** A job whose resources no node has fails at once (ResourceError) instead of waiting forever. */
  protected override admission(handle: TaskHandle): Error | null {
    const spec = handle.spec as ComputeTaskSpec;
    const shape = jobShape(spec.uid, spec.taskBackendSpecificKwargs, spec.function !== undefined);
    const templates = shape.mode === 'parallel' ? shape.groups.flatMap((g) => Array.from({ length: g.count }, () => g.template)) : [shape.template];
    const requests = templates.map(requestOf);
    const why = this.scheduler!.unsatisfiable(requests);
    if (why) return new ResourceError(`Task ${spec.uid}: resources can never be satisfied: ${why}`, spec.uid);
    handle.slot = { shape, templates, requests, allocations: null } satisfies JobEntry;
    return null;
  }

  /** The resource scheduler is the capacity predicate (FIFO with backfill: every job that fits starts). */
  protected override reserve(handle: TaskHandle): boolean {
    const entry = handle.slot as JobEntry;
    entry.allocations = this.scheduler!.tryAllocate(entry.requests);
    return entry.allocations !== null;
  }

  protected async run(handle: TaskHandle): Promise<Outcome> {
    const h = handle as Job;
    const entry = h.slot as JobEntry;
    const job = { ...this.jobSpec(h.spec, entry), outputDir: h.sessionDir };
    h.start();
    const group = createActor(this.groupLogic, {
      input: { uid: job.uid, launcher: this.launcherKind, worldSize: job.ranks.length },
      inspect: this._inspectHub.active ? this._inspectHub.inspect : undefined,
      id: `${job.uid}.group`,
    });
    group.subscribe({ error: () => undefined });
    const running = this.launcher.run(job, {
      started: (spec) => group.send({ type: 'RANK_STARTED', rank: spec.rank, node: spec.node, gpus: spec.gpus }),
      exited: (spec, r) => group.send({ type: 'RANK_EXITED', rank: spec.rank, exitCode: r.error && r.exitCode === 0 ? 1 : r.exitCode, signal: r.signal, killed: r.killed ?? null }),
    });
    this.jobs.set(group, running);
    group.start();
    h.onAbort(() => group.send({ type: 'STOP' }));
    let results: RankResult[];
    try {
      results = await running.done;
    } finally {
      this.scheduler!.release(entry.allocations!);
      entry.allocations = null;
      this.jobs.delete(group);
    }
    const final = group.getSnapshot().value;
    group.stop();
    return this.outcomeOf(h, entry, results, final === 'stopped' || h.aborted);
  }

  private jobSpec(spec: ComputeTaskSpec, entry: JobEntry): JobSpec {
    const allocs = entry.allocations!;
    const worldSize = allocs.length;
    const perNode = new Map<string, number>();
    const master = { addr: allocs[0]!.hostname, port: nextMasterPort++ };
    if (nextMasterPort > 32_000) nextMasterPort = 29_500;
    const command = commandOf(spec);
    const ranks: RankSpec[] = allocs.map((a, rank) => {
      const localRank = perNode.get(a.hostname) ?? 0;
      perNode.set(a.hostname, localRank + 1);
      const template = entry.templates[rank]!;
      const env = { ...template.env, ...rankEnv({ rank, localRank, worldSize, node: a.hostname, gpus: a.gpus }, master) };
      return { rank, localRank, worldSize, node: a.hostname, gpus: a.gpus, cpus: a.cpus, command, template, env };
    });
    return { uid: spec.uid, ranks };
  }

  /** The job's outcome from its process group's end and its ranks' results. */
  private outcomeOf(h: Job, entry: JobEntry, results: RankResult[], stopped: boolean): Outcome {
    results.sort((a, b) => a.rank - b.rank);
    const parallel = entry.shape.mode === 'parallel';
    const isFunction = h.spec.function !== undefined;
    const ranks: RankInfo[] | null = parallel ? results.map((r) => ({ rank: r.rank, hostname: r.hostname, exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr })) : null;
    const stdout = results.map((r) => r.stdout).join('');
    const stderr = results.map((r) => r.stderr).join('');
    const firstBad = results.find((r) => !r.killed && (r.exitCode !== 0 || r.error)) ?? results.find((r) => r.exitCode !== 0 || r.error);
    const exitCode = firstBad ? firstBad.exitCode : 0;
    if (stopped && (!firstBad || firstBad.killed === 'canceled')) return { status: 'canceled' };
    if (!firstBad) {
      const values = results.map((r) => (isFunction ? r.returnValue : r.exitCode));
      const returnValue = parallel ? values : isFunction ? values[0] : undefined;
      return { status: 'done', returnValue, exitCode: 0, stdout, stderr, ranks };
    }
    const where = parallel ? `rank ${firstBad.rank} on ${firstBad.hostname}` : '';
    if (firstBad.killed === 'timeout') {
      const error = processFailure(h.uid, { ...firstBad, error: null }, { label: parallel ? `rank ${firstBad.rank}` : '', timeoutMs: entry.templates[firstBad.rank]?.options?.timeout });
      return { status: 'failed', error, timedOut: true, ranks };
    }
    let error: Error;
    if (isFunction && firstBad.error && firstBad.exitCode === 1 && firstBad.error.name !== 'BackendError') {
      error = decodeError(firstBad.error); // the function threw: its own error, as on every backend
    } else if (firstBad.error?.name === 'BackendError') {
      error = new TaskExecutionError(
        `Task ${h.uid}:${where ? ` ${where}` : ''} could not run: ${firstBad.error.message}`,
        { taskUid: h.uid },
        { cause: new BackendError(firstBad.error.message, this.name) },
      );
    } else {
      error = processFailure(h.uid, { ...firstBad, error: firstBad.error?.message ?? null }, { label: where, program: commandName(h.spec) });
    }
    // a BackendError rank (spawner lost, SLURM controller or node) is infrastructure; a rank's own exit is not
    return { status: 'failed', error, exitCode, stdout, stderr, ranks, infrastructure: firstBad.infrastructure === true };
  }
}

function commandName(spec: ComputeTaskSpec): string {
  return spec.executable ?? 'node';
}

function requestOf(t: ProcessTemplate): RankRequest {
  const p = t.policy;
  if (!p) return {};
  return {
    hostName: p.placement === Placement.HOST_NAME ? p.hostName : undefined,
    gpuIds: p.gpuAffinity,
    gpuCount: p.gpuAffinity ? undefined : p.gpus,
    cpuIds: p.cpuAffinity,
  };
}

function commandOf(task: ComputeTaskSpec): RankCommand {
  if (task.executable !== undefined) return { kind: 'executable', file: task.executable, args: [...task.arguments] };
  const fn = task.function!;
  const args = task.kwargs === undefined ? [...task.args] : [...task.args, task.kwargs];
  if (typeof fn === 'function') {
    const shipped = shipFunction(fn);
    return { kind: 'function', fn: shipped.wire ? { source: shipped.source, wire: shipped.wire } : { source: shipped.source }, args };
  }
  const ref = fn as ModuleFunctionRef;
  return { kind: 'function', fn: { module: moduleSpecifier(ref.module), export: ref.export }, args };
}
