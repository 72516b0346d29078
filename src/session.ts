import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Observable } from 'rxjs';
import { createActor, fromPromise, type Actor } from 'xstate';
import { sessionMachine, type SessionStateName } from '../machines/session.machine.js';
import { TERMINAL_STATES, type TaskMachineEvent } from '../machines/task.machine.js';
import { Backend } from './backends/backend.js';
import { DependencyError, SessionError } from './errors.js';
import { actorState$ } from './internal/actor-stream.js';
import { toFunction, type InspectOption } from './internal/inspect-hub.js';
import type { SessionStatistics } from './internal/statistics.js';
import { RunRegistry } from './run/run-registry.js';
import { routeBatch } from './run/router.js';
import { waitTasks, type WaitOptions } from './run/wait-tasks.js';
import { TaskStreams } from './run/task-streams.js';
import type { TaskRun } from './run/task-run.js';
import { bindRun, runOf, type BaseTask, type TaskDriver } from './task-base.js';
import type { TaskEvent, TaskResult, TaskSnapshot } from './task-types.js';
import { TelemetryManager, type TelemetryOptions } from './telemetry/telemetry-manager.js';
import { UID_PATTERN } from './task-schemas.js';
import { resolveFutures } from './graph/futures.js';
import { GraphStatistics } from './graph/graph-statistics.js';
import { runOfRejection, SettledResult } from './run/task-result.js';
import { SessionGraph } from './graph/session-graph.js';
import { validateBatch } from './graph/validate-batch.js';
import { RetryTimers } from './run/retry-timers.js';

export interface SessionOptions {
  backends?: Backend[];
  /** default `session.<8 hex>` */
  uid?: string;
  /** default `process.cwd()`; backends write under `<workDir>/<uid>/` */
  workDir?: string;
  /** An XState inspection observer (e.g. `createInspector(...).inspect`); reaches every actor. */
  inspect?: InspectOption;
}

export type { WaitOptions } from './run/wait-tasks.js';

export interface SessionSnapshot {
  uid: string;
  state: SessionStateName;
  backends: string[];
  submitted: number;
}

const noop = (): void => undefined;

/**
 * Session options are checked at the edge: the Python habit `Session([backend])` and a lone backend
 * for `backends` are SessionErrors saying what to pass; the uid names a folder, so it is path-safe.
 */
function checkSessionOptions(options: unknown): asserts options is SessionOptions {
  const usage = 'pass an options object, e.g. new Session({ backends: [backend] })';
  if (Array.isArray(options)) throw new SessionError(`new Session(...) got an array: ${usage}`);
  if (options === null || typeof options !== 'object') throw new SessionError(`new Session(...) got ${typeof options}: ${usage}`);
  const o = options as Record<string, unknown>;
  if (o.backends !== undefined && !Array.isArray(o.backends)) {
    throw new SessionError(`Session option "backends" must be an array of backends: ${usage}`);
  }
  if (o.uid !== undefined && (typeof o.uid !== 'string' || !UID_PATTERN.test(o.uid))) {
    throw new SessionError(`Session option "uid" must be 1-128 characters of [A-Za-z0-9._:-] (it names a folder under workDir); got ${JSON.stringify(String(o.uid))}`);
  }
  if (o.workDir !== undefined && typeof o.workDir !== 'string') throw new SessionError('Session option "workDir" must be a string path');
}

/**
 * Submits tasks to backends and tracks them to a terminal state.
 *
 * @example
 * await using session = new Session({ backends: [await ConcurrentExecutionBackend.create()] });
 * const futures = await session.submitTasks([new ComputeTask({ function: (x: number) => x + 1, args: [1] })]);
 * console.log((await futures[0]).returnValue); // 2
 */
export class Session implements TaskDriver, AsyncDisposable {
  readonly uid: string;
  readonly workDir: string;
  /** Every task state change. */
  readonly events$: Observable<TaskEvent>;
  private readonly backendList: Backend[] = [];
  /** one run record per live task */
  private readonly runs: RunRegistry;
  private readonly streams = new TaskStreams();
  private readonly actor: Actor<ReturnType<typeof sessionMachine.provide>>;
  private readonly inspect: ((e: Parameters<ReturnType<typeof toFunction>>[0]) => void) | undefined;
  private readonly starting = new Set<Promise<unknown>>();
  private closePromise: Promise<void> | null = null;
  private telemetry: TelemetryManager | null = null;
  private telemetryStart: Promise<TelemetryManager> | null = null;
  /** dependencies between tasks: who waits, who is released or fails (docs/task-graph.md) */
  private readonly graph: SessionGraph;
  /** the chart's retry delays, run once some task has `retries` */
  private retryTimers: RetryTimers | null = null;
  /** getStatistics().graph, kept once some task has dependencies or retries */
  private graphStats: GraphStatistics | null = null;

  constructor(options: SessionOptions = {}) {
    checkSessionOptions(options);
    this.uid = options.uid ?? `session.${randomBytes(4).toString('hex')}`;
    this.workDir = options.workDir ?? process.cwd();
    this.inspect = options.inspect ? toFunction(options.inspect) : undefined;
    this.runs = new RunRegistry(this.inspect);
    this.runs.listen(this.streams);
    this.graph = new SessionGraph(this.runs, (runs) => this.admit(runs));
    // the chart owns the close sequence: CLOSING invokes it
    const logic = sessionMachine.provide({ actors: { closeSession: fromPromise(() => this.closeSequence()) } });
    this.actor = createActor(logic, { input: { uid: this.uid }, inspect: this.inspect });
    this.actor.subscribe({ error: noop });
    this.actor.start();
    this.events$ = this.streams.events$;
    for (const b of options.backends ?? []) this.addBackend(b);
  }

  /** Session snapshots; the current one first, completes when closed. */
  get state$(): Observable<SessionSnapshot> {
    return actorState$(this.actor, (s) => ({
      uid: s.context.uid,
      state: s.value as SessionStateName,
      backends: s.context.backends,
      submitted: s.context.submitted,
    }));
  }

  get state(): SessionStateName {
    return this.actor.getSnapshot().value as SessionStateName;
  }

  get backends(): readonly Backend[] {
    return this.backendList;
  }

  /** Adds a backend (started if it is not yet). Names must be unique. */
  addBackend(backend: Backend): void {
    if (!(backend instanceof Backend)) throw new SessionError(`addBackend: not a backend: ${String(backend)}`);
    if (this.state !== 'OPEN') throw new SessionError(`Session ${this.uid} is ${this.state}`);
    if (this.backendList.some((b) => b.name === backend.name)) {
      throw new SessionError(`Session ${this.uid} already has a backend named "${backend.name}"`);
    }
    this.backendList.push(backend);
    this.actor.send({ type: 'ADD_BACKEND', name: backend.name });
    if (this.inspect) backend._attachInspector(this.inspect);
    if (this.telemetry) this.watchBackend(backend, this.telemetry);
    if (backend.state === 'INITIALIZED') {
      const p = backend.start().finally(() => this.starting.delete(p));
      p.catch(noop);
      this.starting.add(p);
    }
  }

  /**
   * Routes the whole batch first (explicit backend name, else the first compatible backend); any
   * routing error throws SessionError and submits nothing. Returns one future per task, same order.
   */
  async submitTasks(tasks: readonly BaseTask[]): Promise<Promise<TaskResult>[]> {
    if (this.state !== 'OPEN') throw new SessionError(`Session ${this.uid} is ${this.state}: cannot submit tasks`);
    if (this.starting.size) await Promise.all([...this.starting]);
    const thenables: PromiseLike<unknown>[] = [];
    let { plan, deps } = this.checkBatch(tasks, thenables);
    if (thenables.length > 0) {
      // futures met as dependencies: find their tasks, then check the batch again
      await this.resolveFutures(thenables);
      if (this.state !== 'OPEN') throw new SessionError(`Session ${this.uid} is ${this.state}: cannot submit tasks`);
      ({ plan, deps } = this.checkBatch(tasks));
    }
    this.actor.send({ type: 'SUBMIT_BATCH', size: tasks.length });
    const sessionDir = join(this.workDir, this.uid);
    const futures = new Array<Promise<TaskResult>>(tasks.length);
    const groups = new Map<Backend, TaskRun[]>();
    const now = performance.now();
    let submitTo: Backend | null = null;
    let submit: TaskMachineEvent | null = null;
    for (let i = 0; i < tasks.length; i++) {
      const task = tasks[i]!;
      const backend = plan.backendOf[i]!;
      const run = this.runs.create(task, plan.specs[i]!, task.backend, sessionDir, now);
      bindRun(task, run, this);
      futures[i] = run.future;
      if (task.retries !== null && this.retryTimers === null) this.runs.listen((this.retryTimers = new RetryTimers(this.runs)));
      if (this.graphStats === null && (task.retries !== null || deps[i]!.length > 0)) this.runs.listen((this.graphStats = new GraphStatistics(this.runs.stats.graph)));
      if (deps[i]!.length > 0) {
        // the edges, for telemetry only (nothing kept per edge without it)
        if (this.telemetry !== null) run.dependencyUids = deps[i]!.map((d) => d.uid);
        const status = this.graph.add(task, deps[i]!);
        this.runs.send(run, { type: 'SUBMIT', backend: backend.name, dependencies: status !== 'ready' });
        if (status instanceof DependencyError) this.runs.send(run, { type: 'DEPENDENCY_FAILED', error: status, dependencyUid: status.dependencyUid });
        if (status !== 'ready' || !this.graph.prepare(task, run)) continue;
      } else {
        // one SUBMIT event per backend in the batch, not one per task
        if (submitTo !== backend) submit = { type: 'SUBMIT', backend: (submitTo = backend).name };
        this.runs.send(run, submit!);
      }
      let group = groups.get(backend);
      if (!group) groups.set(backend, (group = []));
      group.push(run);
    }
    for (const [backend, group] of groups) backend._submit(group);
    return futures;
  }

  /**
   * Routes the batch and checks its dependencies (unknown, another session's, a cycle): a SessionError
   * submits nothing. With `thenables`, futures not known yet are collected there to be resolved.
   */
  private checkBatch(tasks: readonly BaseTask[], thenables?: PromiseLike<unknown>[]) {
    const plan = routeBatch(tasks, this.backendList, (uid) => this.runs.has(uid), this.uid);
    const deps = validateBatch(tasks, this.runs, (t) => runOf(t)?.driver ?? null, thenables);
    return { plan, deps };
  }

  /** Finds the tasks of futures met as dependencies: a live run's, or a settled one's (its result or error names its run). */
  private resolveFutures(thenables: PromiseLike<unknown>[]): Promise<void> {
    let live: Map<unknown, TaskRun> | null = null;
    return resolveFutures(
      thenables,
      (p) => (live ??= RunRegistry.liveRunsByFuture()).get(p)?.task as BaseTask | undefined,
      (outcome) => {
        const run = 'value' in outcome ? SettledResult.runOf(outcome.value) : runOfRejection(outcome.error);
        return run?.task as BaseTask | undefined;
      },
    );
  }

  /** Hands runs released by the graph to their backends (a shut-down backend fails them). */
  private admit(runs: TaskRun[]): void {
    const groups = new Map<Backend, TaskRun[]>();
    for (const run of runs) {
      const backend = this.backendList.find((b) => b.name === run.backend)!;
      let group = groups.get(backend);
      if (!group) groups.set(backend, (group = []));
      group.push(run);
    }
    for (const [backend, group] of groups) backend._submit(group);
  }

  /**
   * Waits until every task is terminal. Never rejects for task failure (unless `failFast`);
   * rejects TimeoutError at the deadline without disturbing the tasks.
   */
  waitTasks<T extends BaseTask>(tasks: readonly T[], options: WaitOptions = {}): Promise<T[]> {
    return waitTasks(tasks, options, this.inspect);
  }

  /** Cancels one task (TaskDriver); `task.cancel()` calls this. */
  async cancelTask(task: BaseTask): Promise<boolean> {
    if (TERMINAL_STATES.has(task.state)) return false;
    const run = runOf(task);
    if (!run || this.runs.get(task.uid) !== run) return task.cancel();
    if (this.graph.isWaiting(run)) {
      run.canceled(); // never admitted: nothing runs it
      return true;
    }
    const backend = this.backendList.find((b) => b.name === run.backend);
    if (!backend) return false;
    return backend._cancelRun(run);
  }

  /** Cancels the given tasks (default: every task not yet terminal); kills what runs them. */
  async cancelTasks(tasks?: readonly BaseTask[]): Promise<number> {
    if (!tasks) {
      // those waiting for dependencies first, so that none is released while the others are canceled
      const waiting = this.graph.cancelWaiting();
      const live = [...this.runs.values()];
      const results = await Promise.all(live.map((r) => this.backendList.find((b) => b.name === r.backend)?._cancelRun(r) ?? false));
      return waiting + results.filter(Boolean).length;
    }
    const results = await Promise.all([...tasks].map((t) => this.cancelTask(t)));
    return results.filter(Boolean).length;
  }

  /** Snapshots of one task: the current one first, each change, completes after the terminal one. */
  task$(taskOrUid: BaseTask | string): Observable<TaskSnapshot> {
    const run = typeof taskOrUid === 'string' ? this.runs.get(taskOrUid) : runOf(taskOrUid);
    if (typeof taskOrUid !== 'string' && (!run || this.runs.get(run.uid) !== run)) {
      // not (or no longer) live here: its current snapshot, then done if terminal
      const task = taskOrUid;
      return new Observable<TaskSnapshot>((s) => {
        s.next(task.toJSON());
        if (TERMINAL_STATES.has(task.state)) s.complete();
      });
    }
    if (!run) throw new SessionError(`Session ${this.uid} has no live task ${String(taskOrUid)}`);
    return this.streams.task$(run);
  }

  /** Counts per state and average latencies (ms). Kept as running sums: nothing per task. */
  getStatistics(): SessionStatistics {
    return this.runs.stats.snapshot();
  }

  /**
   * Starts telemetry for this session: lifecycle events, a JSONL checkpoint, OpenTelemetry spans and
   * metrics, resource samples. It stops with the session. Calling it again returns the same manager.
   *
   * @example
   * const telemetry = await session.startTelemetry({ checkpointPath: 'run.jsonl' });
   * telemetry.events$.subscribe((e) => e.type === 'task.failed' && console.error(e.uid, e.error));
   */
  startTelemetry(options: TelemetryOptions = {}): Promise<TelemetryManager> {
    if (this.state !== 'OPEN') return Promise.reject(new SessionError(`Session ${this.uid} is ${this.state}: cannot start telemetry`));
    if (!this.telemetryStart) {
      this.telemetryStart = TelemetryManager.start({ uid: this.uid, counts: () => this.runs.stats.snapshot().counts }, options).then(
        (t) => {
          this.telemetry = t;
          // a change of pendingReason only (DEPS_READY) is no new state for telemetry
          this.runs.listen({ created: (run) => t._taskState(run, 'NEW'), transition: (run, previous) => previous !== run.state && t._taskState(run, run.state) });
          for (const b of this.backendList) this.watchBackend(b, t);
          return t;
        },
        (err: unknown) => {
          this.telemetryStart = null;
          throw err;
        },
      );
    }
    return this.telemetryStart;
  }

  private watchBackend(backend: Backend, telemetry: TelemetryManager): void {
    let started = false;
    backend.state$.subscribe((s) => {
      if (!started && s.phase === 'active') {
        started = true;
        telemetry._backendEvent('backend.started', s.name, s.kind);
      } else if (s.state === 'SHUTDOWN') {
        telemetry._backendEvent('backend.stopped', s.name, s.kind);
      }
    });
  }

  /** Cancels what is not terminal (every future settles), shuts backends down, completes streams. Idempotent. */
  close(): Promise<void> {
    if (!this.closePromise) this.closePromise = this.doClose();
    return this.closePromise;
  }

  private doClose(): Promise<void> {
    return new Promise<void>((resolve) => {
      const sub = this.actor.subscribe({ next: (s) => s.status === 'done' && (sub.unsubscribe(), resolve()), complete: resolve, error: () => resolve() });
      this.actor.send({ type: 'CLOSE' });
    });
  }

  /** What CLOSING runs: every future settles, backends shut down, telemetry stops, streams complete. */
  private async closeSequence(): Promise<void> {
    await Promise.allSettled([...this.starting]);
    await this.cancelTasks();
    this.retryTimers?.clear();
    await Promise.allSettled(this.backendList.map((b) => b.shutdown()));
    // anything a backend failed to settle is canceled here, so no future stays pending
    for (const run of [...this.runs.values()]) run.canceled();
    await this.telemetryStart?.catch(noop);
    await this.telemetry?.stop();
    this.streams.complete();
    this.runs.closed();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
