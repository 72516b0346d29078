import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { InlineExecutor } from '../../actors/inline-executor.js';
import type { SpawnResult } from '../../actors/process-spawner.js';
import { envSnapshot, type EnvSnapshot } from '../../actors/env-snapshot.js';
import { spawnError } from '../../actors/process-spawner.js';
import { SpawnerPool, type SpawnerKind } from '../../actors/spawner-pool.js';
import { WorkerPool } from '../../actors/worker-pool.js';
import type { ExecutionSink } from '../../actors/execution-sink.js';
import { ComputeTask } from '../compute-task.js';
import { TaskExecutionError } from '../errors.js';
import type { BaseTask } from '../task-base.js';
import { map, type Observable } from 'rxjs';
import { Backend, sendTask, type BackendSnapshot, type SubmitContext } from './backend.js';

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

interface ExecEntry { kill: ((reason?: 'canceled') => void) | null; cancel: boolean; done: Promise<void> }

/** Text form of a function's return value, as the original's `str(return_value)`. */
export function stdoutOf(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value === undefined) return '';
  if (value === null || typeof value !== 'object') return String(value);
  try {
    return JSON.stringify(value);
  } catch {
    return String(value);
  }
}

/**
 * The default local backend: functions on worker threads (comlink), child Node processes or
 * inline; executables through a spawner process (execa), each in its own process group.
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
  private execQueue: Array<{ task: ComputeTask; ctx: SubmitContext; env: EnvSnapshot }> = [];
  private execRunning = 0;
  private readonly madeDirs = new Set<string>();

  constructor(options: ConcurrentExecutionBackendOptions = {}) {
    super(options.name ?? 'concurrent');
    this.executor = options.executor ?? 'threads';
    this.maxWorkers = options.maxWorkers ?? availableParallelism();
    this.maxProcesses = options.maxProcesses ?? 32;
    this.spawnerPool = new SpawnerPool({ kind: options.spawner, size: options.spawners, defaults: { maxOutputBytes: options.maxOutputBytes, keepProcessGroup: options.keepProcessGroup } });
    const sink = this.sink;
    this.pool = this.executor === 'inline' ? null : new WorkerPool({ mode: this.executor, size: this.maxWorkers, sink });
    this.inline = this.executor === 'inline' ? new InlineExecutor(sink) : null;
  }

  /** Creates and starts a backend (Python's `await ConcurrentExecutionBackend(...)`). */
  static create(options: ConcurrentExecutionBackendOptions = {}): Promise<ConcurrentExecutionBackend> {
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

  accepts(task: BaseTask): boolean {
    return task instanceof ComputeTask;
  }

  protected async onStart(): Promise<void> {
    this.pool?.start();
    await this.spawnerPool.start();
  }

  protected async onShutdown(): Promise<void> {
    await Promise.all([this.pool?.close(), this.spawnerPool.close()]);
  }

  /** Executor callbacks → task chart events. */
  private readonly sink: ExecutionSink = {
    started: (task) => {
      sendTask(task, { type: 'START' });
    },
    completed: (task, r) => {
      sendTask(task, { type: 'COMPLETE', returnValue: r.returnValue, stdout: stdoutOf(r.returnValue) });
      this.release(task);
    },
    failed: (task, error, details) => {
      sendTask(task, { type: 'FAIL', error, ...details });
      this.release(task);
    },
    timedOut: (task, error) => {
      sendTask(task, { type: 'TIMEOUT', error });
      this.release(task);
    },
    requeued: (task) => {
      sendTask(task, { type: 'QUEUE' });
    },
  };

  protected admit(tasks: BaseTask[], ctx: SubmitContext): void {
    let env: EnvSnapshot | undefined; // process.env at submit, read once per batch
    for (const t of tasks) {
      const task = t as ComputeTask;
      sendTask(task, { type: 'QUEUE' });
      if (task.executable !== undefined) this.execQueue.push({ task, ctx, env: (env ??= envSnapshot()) });
      else if (this.inline) this.inline.enqueue(task);
      else this.pool!.enqueue(task);
    }
    if (this.execQueue.length) this.pumpExecutables();
  }

  protected async cancelRunning(task: BaseTask): Promise<void> {
    const t = task as ComputeTask;
    if (t.state === 'RUNNING') {
      if (t.executable !== undefined) {
        const entry = t._exec as ExecEntry;
        entry.cancel = true;
        entry.kill?.('canceled');
        await entry.done; // ends CANCELED once the process group is dead
        return;
      }
      if (this.pool) await this.pool.kill(t);
      else this.inline!.kill(t);
    }
    if (sendTask(t, { type: 'CANCEL' })) this.release(t);
  }

  private pumpExecutables(): void {
    while (this.execRunning < this.maxProcesses && this.execQueue.length) {
      const { task, ctx, env } = this.execQueue.shift()!;
      if (task.state !== 'QUEUED') continue;
      this.execRunning++;
      const entry: ExecEntry = { kill: null, cancel: false, done: Promise.resolve() };
      task._exec = entry;
      entry.done = this.runExecutable(task, ctx, env, entry).finally(() => {
        this.execRunning--;
        this.pumpExecutables();
      });
    }
  }

  private async runExecutable(task: ComputeTask, ctx: SubmitContext, baseEnv: EnvSnapshot, entry: ExecEntry): Promise<void> {
    sendTask(task, { type: 'START' });
    const o = task.taskBackendSpecificKwargs;
    let stdoutFile: string | undefined;
    let stderrFile: string | undefined;
    let result: SpawnResult;
    try {
      if (task.captureStdio) {
        if (!this.madeDirs.has(ctx.sessionDir)) {
          await mkdir(ctx.sessionDir, { recursive: true });
          this.madeDirs.add(ctx.sessionDir);
        }
        stdoutFile = join(ctx.sessionDir, `${task.uid}.stdout`);
        stderrFile = join(ctx.sessionDir, `${task.uid}.stderr`);
      }
      result = await this.spawnerPool.run(
        {
          file: task.executable!, args: task.arguments, shell: o.shell, cwd: o.cwd, env: o.env, baseEnv, timeout: o.timeout, stdoutFile, stderrFile,
          keepProcessGroup: o.keepProcessGroup, spillPrefix: join(ctx.sessionDir, task.uid),
        },
        (kill) => {
          entry.kill = kill;
          if (entry.cancel) kill('canceled');
        },
      );
    } catch (err) {
      this.sink.failed(task, new TaskExecutionError(`Task ${task.uid}: ${(err as Error).message}`, { taskUid: task.uid }, { cause: err }));
      return;
    }
    const stdout = stdoutFile ?? result.stdout;
    const stderr = stderrFile ?? result.stderr;
    if (entry.cancel || result.killed === 'canceled') {
      if (sendTask(task, { type: 'CANCEL' })) this.release(task);
    } else if (result.killed === 'timeout') {
      this.sink.timedOut(task, new TaskExecutionError(`Task ${task.uid} timed out after ${o.timeout} ms; its process group was killed`, { taskUid: task.uid, exitCode: result.exitCode, stderr: result.stderr, signal: result.signal }));
    } else if (result.error) {
      const cause = result.osError ? spawnError(result.osError) : undefined;
      this.sink.failed(task, new TaskExecutionError(`Task ${task.uid}: cannot run ${task.executable}: ${result.error}`, { taskUid: task.uid, stderr: result.stderr }, cause ? { cause } : undefined), { exitCode: result.exitCode, stdout, stderr });
    } else if (result.exitCode === 0) {
      sendTask(task, { type: 'COMPLETE', exitCode: 0, stdout, stderr });
      this.release(task);
    } else {
      const how = result.signal ? `was killed by ${result.signal}` : `exited with code ${result.exitCode}`;
      const tail = result.stderr.trim().slice(-500);
      this.sink.failed(
        task,
        new TaskExecutionError(`Task ${task.uid} (${task.executable}) ${how}${tail ? `: ${tail}` : ''}`, { taskUid: task.uid, exitCode: result.exitCode, stderr: result.stderr, signal: result.signal }),
        { exitCode: result.exitCode, stdout, stderr },
      );
    }
  }
}
