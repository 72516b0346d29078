import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { InlineExecutor } from '../../../actors/function-pool/inline-executor.js';
import { envSnapshot } from '../../../actors/process/env-snapshot.js';
import { type SpawnResult, spawnError } from '../../../actors/process/process-spawner.js';
import { SpawnerPool, type SpawnerKind } from '../../../actors/process/spawner-pool.js';
import { map, type Observable } from 'rxjs';
import { WorkerPool } from '../../../actors/function-pool/worker-pool.js';
import { TaskExecutionError } from '../../errors.js';
import { checkShippable } from '../../internal/function-shipping.js';
import { processFailure } from '../../run/outcome.js';
import type { ComputeTaskSpec, Outcome, TaskHandle, TaskSpec } from '../../run/task-handle.js';
import { Backend, type BackendSnapshot } from '../backend.js';
import { checkConcurrentOptions } from '../options/schemas.js';

export { stdoutOf } from '../../run/outcome.js';
import { refusePythonFunction } from '../python-function.js';

export type Executor = 'threads' | 'processes' | 'inline';

export interface ConcurrentExecutionBackendOptions {
  name?: string;
  /** Where functions run: worker threads (default), child Node processes, or the main event loop. */
  executor?: Executor;
  /** Workers in the pool (threads / processes). Default: available parallelism. */
  maxWorkers?: number;
  /** Executables running at once. Default 32. */
  maxProcesses?: number;
  /** Node spawner processes (with `spawner: 'node'`). Default min(2, cores). */
  spawners?: number;
  /**
   * What starts executables: `'native'` (a posix_spawn helper, built with the system C compiler on
   * first use) or `'node'` (execa in Node spawner processes). Default: native where it builds, else
   * node (with a warning, once). `RHAPSODY_SPAWNER=node|native` sets the default.
   */
  spawner?: SpawnerKind;
  /** Bytes of each executable's stdout/stderr held in memory; past it the whole stream is spilled to `<session dir>/<uid>.stdout|.stderr`. Default 8 MiB. */
  maxOutputBytes?: number;
  /** Leave what is left of an executable's process group (`cmd &`) running when it exits. Default false: killed. Per task: `taskBackendSpecificKwargs.keepProcessGroup`. */
  keepProcessGroup?: boolean;
}

type Run = TaskHandle<ComputeTaskSpec>;

const isExecutable = (h: TaskHandle): boolean => (h.spec as ComputeTaskSpec).executable !== undefined;

/**
 * The default local backend: functions on worker threads, child Node processes or
 * inline; executables through a spawner process (execa), each in its own process group.
 * Executables and functions wait in separate lanes, each with its own capacity.
 *
 * @example
 * const backend = await ConcurrentExecutionBackend.create({ executor: 'threads', maxWorkers: 4 });
 * await using session = new Session({ backends: [backend] });
 */
export class ConcurrentExecutionBackend extends Backend {
  readonly kind = 'execution' as const;
  readonly executor: Executor;
  readonly maxWorkers: number;
  readonly maxProcesses: number;
  private readonly pool: WorkerPool | null;
  private readonly inline: InlineExecutor | null;
  private readonly spawnerPool: SpawnerPool;
  private execRunning = 0;
  private fnHeld = 0;
  private readonly madeDirs = new Set<string>();

  constructor(options: ConcurrentExecutionBackendOptions = {}) {
    super(checkConcurrentOptions(options).name ?? 'concurrent');
    this.executor = options.executor ?? 'threads';
    this.maxWorkers = options.maxWorkers ?? availableParallelism();
    this.maxProcesses = options.maxProcesses ?? 32;
    this.spawnerPool = new SpawnerPool({ kind: options.spawner, size: options.spawners, defaults: { maxOutputBytes: options.maxOutputBytes, keepProcessGroup: options.keepProcessGroup } });
    this.pool = this.executor === 'inline' ? null : new WorkerPool({ mode: this.executor, size: this.maxWorkers });
    this.inline = this.executor === 'inline' ? new InlineExecutor() : null;
  }

  /** Creates and starts a backend (Python's `await ConcurrentExecutionBackend(...)`). */
  static async create(options: ConcurrentExecutionBackendOptions = {}): Promise<ConcurrentExecutionBackend> {
    return new ConcurrentExecutionBackend(options).start();
  }

  /** Which spawner starts executables (known once started): `'native'` or `'node'`. */
  get spawner(): SpawnerKind | null {
    return this.spawnerPool.kind;
  }

  /** Backend snapshots, with the spawner in use. */
  override get state$(): Observable<BackendSnapshot & { spawner: SpawnerKind | null }> {
    return super.state$.pipe(map((s) => ({ ...s, spawner: this.spawnerPool.kind })));
  }

  accepts(spec: TaskSpec): boolean {
    return spec.kind === 'compute';
  }

  /** A function for a worker must ship (inline runs any closure as it is). */
  override validate(spec: TaskSpec): void {
    const fn = spec.kind === 'compute' ? spec.function : undefined;
    refusePythonFunction(spec, this.name);
    if (this.pool && typeof fn === 'function') checkShippable(spec.uid, fn, this.executor === 'threads' ? 'worker thread' : 'worker process', 'clone');
  }

  protected async onStart(): Promise<void> {
    this.pool?.start();
    await this.spawnerPool.start();
  }

  protected async onShutdown(): Promise<void> {
    await Promise.all([this.pool?.close(), this.spawnerPool.close()]);
  }

  protected override laneOf(h: TaskHandle): string {
    return isExecutable(h) ? 'exec' : 'fn';
  }

  protected override reserve(h: TaskHandle): boolean {
    if (isExecutable(h)) {
      if (this.execRunning >= this.maxProcesses) return false;
      this.execRunning++;
      return true;
    }
    if (this.pool) {
      if (this.fnHeld >= this.pool.capacity) return false;
      this.fnHeld++;
    }
    return true;
  }

  protected override released(h: TaskHandle): void {
    if (isExecutable(h)) this.execRunning--;
    else if (this.pool) this.fnHeld--;
  }

  protected run(handle: TaskHandle): void | Promise<Outcome> {
    const h = handle as Run;
    if (h.spec.executable !== undefined) return this.runExecutable(h);
    if (this.inline) this.inline.run(h);
    else this.pool!.run(h);
  }

  private async runExecutable(h: Run): Promise<Outcome> {
    h.start();
    const { spec } = h;
    const o = spec.taskBackendSpecificKwargs;
    let stdoutFile: string | undefined;
    let stderrFile: string | undefined;
    if (spec.captureStdio) {
      if (!this.madeDirs.has(h.sessionDir)) {
        await mkdir(h.sessionDir, { recursive: true });
        this.madeDirs.add(h.sessionDir);
      }
      stdoutFile = join(h.sessionDir, `${h.uid}.stdout`);
      stderrFile = join(h.sessionDir, `${h.uid}.stderr`);
    }
    let result: SpawnResult;
    try {
      result = await this.spawnerPool.run(
        {
          file: spec.executable!,
          args: [...spec.arguments],
          shell: o.shell,
          cwd: o.cwd,
          env: o.env,
          timeout: o.timeout,
          stdoutFile,
          stderrFile,
          // process.env as it is now (a change after the backend started reaches this task)
          baseEnv: envSnapshot(),
          keepProcessGroup: o.keepProcessGroup as boolean | undefined,
          spillPrefix: join(h.sessionDir, h.uid),
        },
        (kill) => h.onAbort(() => kill('canceled')),
      );
    } catch (err) {
      // the spawner resolves with how the process ended; it rejects only when it failed itself
      // (died with the process in flight, or could not be started): infrastructure, not the task
      if (h.aborted) return { status: 'canceled' };
      return { status: 'failed', error: new TaskExecutionError(`Task ${h.uid}: ${(err as Error).message}`, { taskUid: h.uid }, { cause: err }), infrastructure: true };
    }
    const stdout = stdoutFile ?? result.stdout;
    const stderr = stderrFile ?? result.stderr;
    if (h.aborted || result.killed === 'canceled') return { status: 'canceled' };
    if (result.exitCode === 0 && !result.error && !result.killed) return { status: 'done', exitCode: 0, stdout, stderr };
    const cause = result.osError ? spawnError(result.osError) : undefined;
    const error = processFailure(h.uid, result, { label: `(${spec.executable})`, program: spec.executable, timeoutMs: o.timeout, cause });
    if (result.killed === 'timeout') return { status: 'failed', error, timedOut: true };
    return { status: 'failed', error, exitCode: result.exitCode, stdout, stderr };
  }
}
