import { LocalLauncher, SlurmLauncher, type Launcher, type LauncherKind } from '../../actors/launchers.js';
import { MpiLauncher } from '../../actors/mpi-launcher.js';
import type { RankObserver, RunningJob } from '../../actors/rank-group.js';
import { createActor, type AnyActorRef } from 'xstate';
import { processGroupMachine } from '../../machines/process-group.machine.js';
import { SpawnerPool, type SpawnerKind } from '../../actors/spawner-pool.js';
import { map, type Observable } from 'rxjs';
import { moduleSpecifier } from '../../actors/worker-pool.js';
import { ComputeTask } from '../compute-task.js';
import { BackendError, ResourceError, TaskExecutionError } from '../errors.js';
import { rankEnv, type JobSpec, type RankCommand, type RankResult, type RankSpec } from '../hpc/job.js';
import { jobShape, type JobShape, type ProcessTemplate } from '../hpc/process-template.js';
import { Placement } from '../hpc/policy.js';
import { ResourceScheduler, type NodeInfo, type RankAllocation, type RankRequest } from '../hpc/resource-scheduler.js';
import { rebuildError } from '../internal/remote-error.js';
import type { BaseTask } from '../task-base.js';
import type { ModuleFunctionRef } from '../task-types.js';
import { Backend, sendTask, type BackendSnapshot, type SubmitContext } from './backend.js';

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

/** One rank of a job's details, as `task.ranks` gives them. */
export interface RankInfo {
  rank: number;
  hostname: string;
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

interface JobEntry {
  outputDir: string;
  shape: JobShape;
  templates: ProcessTemplate[];
  requests: RankRequest[];
  allocations: RankAllocation[] | null;
  running: RunningJob | null;
  cancel: boolean;
  done: Promise<void>;
}

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
  private readonly queue: ComputeTask[] = [];
  private readonly options: HpcExecutionBackendOptions;

  constructor(options: HpcExecutionBackendOptions = {}) {
    super(options.name ?? 'hpc');
    this.options = options;
    this.spawner = new SpawnerPool({ kind: options.spawner, defaults: { maxOutputBytes: options.maxOutputBytes } });
    this.launcherKind = options.launcher ?? 'local';
    if (this.launcherKind === 'local') this.launcher = new LocalLauncher(this.spawner);
    else if (this.launcherKind === 'slurm') this.launcher = new SlurmLauncher(this.spawner);
    else if (this.launcherKind === 'mpi') this.launcher = new MpiLauncher(this.spawner);
    else throw new BackendError(`unknown launcher "${String(this.launcherKind)}" (local, slurm, mpi)`, this.name);
  }

  static create(options: HpcExecutionBackendOptions = {}): Promise<HpcExecutionBackend> {
    return new HpcExecutionBackend(options).start();
  }

  /** Which spawner starts rank processes (known once started): `'native'` or `'node'`. */
  get spawnerKind(): SpawnerKind | null {
    return this.spawner.kind;
  }

  /** Backend snapshots, with the spawner in use. */
  override get state$(): Observable<BackendSnapshot & { spawner: SpawnerKind | null }> {
    return super.state$.pipe(map((s) => ({ ...s, spawner: this.spawner.kind })));
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

  accepts(task: BaseTask): boolean {
    return task instanceof ComputeTask;
  }

  override validate(task: BaseTask): void {
    const t = task as ComputeTask;
    jobShape(t.uid, t.taskBackendSpecificKwargs, t.function !== undefined);
  }

  protected admit(tasks: BaseTask[], ctx: SubmitContext): void {
    for (const t of tasks) {
      const task = t as ComputeTask;
      sendTask(task, { type: 'QUEUE' });
      const shape = jobShape(task.uid, task.taskBackendSpecificKwargs, task.function !== undefined);
      const templates = shape.mode === 'parallel' ? shape.groups.flatMap((g) => Array.from({ length: g.count }, () => g.template)) : [shape.template];
      const requests = templates.map(requestOf);
      const why = this.scheduler!.unsatisfiable(requests);
      if (why) {
        sendTask(task, { type: 'FAIL', error: new ResourceError(`Task ${task.uid}: resources can never be satisfied: ${why}`, task.uid) });
        this.release(task);
        continue;
      }
      task._exec = { outputDir: ctx.sessionDir, shape, templates, requests, allocations: null, running: null, cancel: false, done: Promise.resolve() } satisfies JobEntry;
      this.queue.push(task);
    }
    this.pump();
  }

  /** FIFO with backfill: every queued job that fits now starts, in order. */
  private pump(): void {
    for (let i = 0; i < this.queue.length; ) {
      const task = this.queue[i]!;
      if (task.state !== 'QUEUED') {
        this.queue.splice(i, 1);
        continue;
      }
      const entry = task._exec as JobEntry;
      const allocations = this.scheduler!.tryAllocate(entry.requests);
      if (!allocations) {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      entry.allocations = allocations;
      entry.done = this.runJob(task, entry);
    }
  }

  private async runJob(task: ComputeTask, entry: JobEntry): Promise<void> {
    const job = this.jobSpec(task, entry);
    sendTask(task, { type: 'START' });
    const group = this._inspectHub.active ? this.groupActor(job) : null;
    entry.running = this.launcher.run(job, group?.observer);
    if (entry.cancel) entry.running.kill('canceled');
    let results: RankResult[];
    try {
      results = await entry.running.done;
    } finally {
      this.scheduler!.release(entry.allocations!);
      entry.allocations = null;
      group?.actor.stop();
    }
    this.finishJob(task, entry, results);
    this.release(task);
    this.pump();
  }

  /**
   * A process-group actor for the job (with rank actors as its children), fed by the launcher:
   * materialised only while the backend is inspected, like task actors.
   */
  private groupActor(job: JobSpec): { actor: AnyActorRef; observer: RankObserver } {
    const actor = createActor(processGroupMachine, {
      input: { uid: job.uid, launcher: this.launcherKind, worldSize: job.ranks.length },
      inspect: this._inspectHub.inspect,
      id: `${job.uid}.group`,
    });
    actor.subscribe({ error: () => undefined });
    actor.start();
    return {
      actor,
      observer: {
        started: (spec) => actor.send({ type: 'RANK_STARTED', rank: spec.rank, node: spec.node, gpus: spec.gpus }),
        exited: (spec, r) => actor.send({ type: 'RANK_EXITED', rank: spec.rank, exitCode: r.exitCode, signal: r.signal, killed: r.killed ?? null }),
      },
    };
  }

  private jobSpec(task: ComputeTask, entry: JobEntry): JobSpec {
    const allocs = entry.allocations!;
    const worldSize = allocs.length;
    const perNode = new Map<string, number>();
    const master = { addr: allocs[0]!.hostname, port: nextMasterPort++ };
    if (nextMasterPort > 32_000) nextMasterPort = 29_500;
    const command = commandOf(task);
    const ranks: RankSpec[] = allocs.map((a, rank) => {
      const localRank = perNode.get(a.hostname) ?? 0;
      perNode.set(a.hostname, localRank + 1);
      const template = entry.templates[rank]!;
      const env = { ...template.env, ...rankEnv({ rank, localRank, worldSize, node: a.hostname, gpus: a.gpus }, master) };
      return { rank, localRank, worldSize, node: a.hostname, gpus: a.gpus, cpus: a.cpus, command, template, env };
    });
    return { uid: task.uid, ranks, outputDir: entry.outputDir };
  }

  private finishJob(task: ComputeTask, entry: JobEntry, results: RankResult[]): void {
    results.sort((a, b) => a.rank - b.rank);
    const parallel = entry.shape.mode === 'parallel';
    const isFunction = task.function !== undefined;
    const ranks: RankInfo[] = results.map((r) => ({ rank: r.rank, hostname: r.hostname, exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr }));
    task.ranks = parallel ? ranks : null;
    const stdout = results.map((r) => r.stdout).join('');
    const stderr = results.map((r) => r.stderr).join('');
    const firstBad = results.find((r) => !r.killed && (r.exitCode !== 0 || r.error)) ?? results.find((r) => r.exitCode !== 0 || r.error);
    const exitCode = firstBad ? firstBad.exitCode : 0;
    if (entry.cancel || results.some((r) => r.killed === 'canceled' && !firstBad)) {
      if (sendTask(task, { type: 'CANCEL' })) return;
    }
    if (!firstBad) {
      const values = results.map((r) => (isFunction ? r.returnValue : r.exitCode));
      const returnValue = parallel ? values : isFunction ? values[0] : undefined;
      sendTask(task, { type: 'COMPLETE', returnValue, exitCode: 0, stdout, stderr });
      return;
    }
    if (firstBad.killed === 'timeout') {
      sendTask(task, { type: 'TIMEOUT', error: new TaskExecutionError(`Task ${task.uid}: rank ${firstBad.rank} timed out after ${entry.templates[firstBad.rank]?.options?.timeout} ms`, { taskUid: task.uid, exitCode, stderr: firstBad.stderr, signal: firstBad.signal }) });
      return;
    }
    const where = parallel ? ` rank ${firstBad.rank} on ${firstBad.hostname}` : '';
    let error: Error;
    if (isFunction && firstBad.error && firstBad.exitCode === 1 && firstBad.error.name !== 'BackendError') {
      error = rebuildError(firstBad.error); // the function threw: its own error, as on every backend
    } else if (firstBad.error?.name === 'BackendError') {
      error = new TaskExecutionError(`Task ${task.uid}:${where} could not run: ${firstBad.error.message}`, { taskUid: task.uid }, { cause: new BackendError(firstBad.error.message, this.name) });
    } else {
      const how = firstBad.signal ? `was killed by ${firstBad.signal}` : firstBad.error ? `could not start: ${firstBad.error.message}` : `exited with code ${firstBad.exitCode}`;
      const tail = firstBad.stderr.trim().slice(-500);
      error = new TaskExecutionError(`Task ${task.uid}${where} ${how}${tail ? `: ${tail}` : ''}`, { taskUid: task.uid, exitCode, stderr: firstBad.stderr, signal: firstBad.signal });
    }
    sendTask(task, { type: 'FAIL', error, exitCode, stdout, stderr });
  }

  protected async cancelRunning(task: BaseTask): Promise<void> {
    const entry = task._exec as JobEntry | undefined;
    if (task.state === 'RUNNING' && entry) {
      entry.cancel = true;
      entry.running?.kill('canceled');
      await entry.done;
      return;
    }
    if (sendTask(task, { type: 'CANCEL' })) this.release(task);
  }
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

function commandOf(task: ComputeTask): RankCommand {
  if (task.executable !== undefined) return { kind: 'executable', file: task.executable, args: task.arguments };
  const fn = task.function!;
  const args = task.kwargs === undefined ? task.args : [...task.args, task.kwargs];
  if (typeof fn === 'function') return { kind: 'function', fn: { source: fn.toString() }, args };
  const ref = fn as ModuleFunctionRef;
  return { kind: 'function', fn: { module: moduleSpecifier(ref.module), export: ref.export }, args };
}
