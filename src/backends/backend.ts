import { createActor, fromPromise, type Actor } from 'xstate';
import type { Observable } from 'rxjs';
import { backendMachine, type BackendStateName } from '../../machines/backend.machine.js';
import { BackendError } from '../errors.js';
import { actorState$ } from '../internal/actor-stream.js';
import { InspectHub, type InspectOption } from '../internal/inspect-hub.js';
import { toError } from '../../actors/codec/wire-codec.mjs';
import type { Outcome, TaskHandle, TaskSpec } from '../run/task-handle.js';
import type { RunOwner, TaskRun } from '../run/task-run.js';

export interface BackendSnapshot {
  name: string;
  kind: 'execution' | 'inference';
  state: BackendStateName;
  /** RUNNING substate: starting | active | draining | stopping */
  phase: string | null;
  inFlight: number;
  error: string | null;
  /** what the backend is doing or waiting for, in words, e.g. while `create()` waits; null when nothing to say */
  detail: string | null;
  /** recent lines of what it runs (a model server's output, …), oldest first; each snapshot adds at most one */
  log: string[];
}

type BackendActor = Actor<typeof backendMachine>;

/** One FIFO of admitted runs waiting for capacity. */
interface Lane {
  items: TaskRun[];
  head: number;
}

/** How long one admission pass may hold the event loop before yielding to I/O (inline functions run in it). */
const SLICE_MS = 8;

/**
 * A backend: the lifecycle (INITIALIZED → RUNNING → SHUTDOWN, around the backend chart) and the one
 * run loop every backend shares. Admitted tasks wait `QUEUED` in a lane until `reserve()` says there
 * is capacity, then `run(handle)` runs them; a run ends through the handle (`complete`, `fail`,
 * `canceled`) or by resolving to an `Outcome`. Cancel and shutdown abort the handle
 * (`handle.signal` / `handle.onAbort`): a backend stops what runs the task and ends it `canceled`.
 *
 * A subclass implements `accepts`, `run`, and optionally `validate` (at submit), `admission`
 * (a reason to fail at once, e.g. resources no node has), `reserve`/`laneOf`/`backfill`
 * (capacity), `onStart` and `onShutdown`.
 *
 * @example
 * class EchoBackend extends Backend {
 *   readonly kind = 'execution' as const;
 *   constructor() { super('echo'); }
 *   accepts(spec: TaskSpec) { return spec.kind === 'compute'; }
 *   protected async run(handle: TaskHandle<ComputeTaskSpec>): Promise<Outcome> {
 *     handle.start();
 *     return { status: 'done', returnValue: handle.spec.args };
 *   }
 * }
 */
export abstract class Backend implements AsyncDisposable, RunOwner {
  abstract readonly kind: 'execution' | 'inference';
  readonly name: string;
  /** @internal */ readonly _inspectHub = new InspectHub();
  /** Admitted and not terminal, by uid. */
  /** runs admitted and not yet terminal; each knows its index here (`_ownerAt`): no hashing per task */
  private readonly runs: TaskRun[] = [];
  private readonly lanes = new Map<string, Lane>();
  /** Start every queued run that fits, in order, rather than stopping at the first that does not. */
  protected backfill = false;
  private actorRef: BackendActor | null = null;
  private startPromise: Promise<this> | null = null;
  private shutdownPromise: Promise<void> | null = null;
  private startError: unknown = null;
  private closeError: unknown = null;
  private pumpScheduled = false;
  private loadScheduled = false;
  private reportedLoad = 0;

  protected constructor(name: string) {
    this.name = name;
  }

  /** @internal The backend's actor (created on first use, so subclass fields are set). */
  get _actor(): BackendActor {
    if (!this.actorRef) {
      // the chart drives the effects: it invokes start and close, and aborts the runs when it drains
      const logic = backendMachine.provide({
        actors: {
          startExecutors: fromPromise(() => this.onStart().catch((err: unknown) => Promise.reject((this.startError = err)))),
          closeExecutors: fromPromise(() => this.onShutdown().catch((err: unknown) => Promise.reject((this.closeError = err)))),
        },
        actions: {
          abortRuns: () => {
            for (const run of [...this.runs]) this.abortRun(run);
          },
        },
      });
      const actor = createActor(logic, { input: { name: this.name, kind: this.kind }, inspect: this._inspectHub.inspect });
      actor.subscribe({ error: () => undefined });
      this.actorRef = actor.start();
    }
    return this.actorRef;
  }

  get state(): BackendStateName {
    const v = this._actor.getSnapshot().value;
    return (typeof v === 'string' ? v : Object.keys(v)[0]) as BackendStateName;
  }

  /** Tasks admitted and not yet terminal. */
  get inFlight(): number {
    return this.runs.length;
  }

  /** Backend snapshots; the current one first, completes at SHUTDOWN. */
  get state$(): Observable<BackendSnapshot> {
    return actorState$(this._actor, (s) => ({
      name: s.context.name,
      kind: s.context.kind,
      state: (typeof s.value === 'string' ? s.value : Object.keys(s.value)[0]) as BackendStateName,
      phase: typeof s.value === 'string' ? null : (Object.values(s.value)[0] as string),
      inFlight: s.context.inFlight,
      error: s.context.error,
      detail: s.context.detail,
      log: s.context.log,
    }));
  }

  /**
   * Tells `state$` what the backend is doing (`detail`) and/or adds lines to its recent `log`; for
   * long waits (a server loading a model, workers registering). Ignored once the backend is shut down.
   */
  protected reportProgress(update: { detail?: string | null; log?: string | string[] }): void {
    const actor = this._actor;
    if (actor.getSnapshot().status !== 'active') return;
    const lines = update.log === undefined ? [] : typeof update.log === 'string' ? [update.log] : update.log;
    if (update.detail !== undefined) actor.send({ type: 'PROGRESS', detail: update.detail });
    for (const line of lines) actor.send({ type: 'PROGRESS', line });
  }

  /** Starts executors; idempotent. Python's `await backend`. */
  start(): Promise<this> {
    if (!this.startPromise) {
      if (this.state === 'SHUTDOWN') return Promise.reject(new BackendError(`Backend ${this.name} is shut down`, this.name));
      this.startPromise = this.until((s) => s.matches({ RUNNING: 'active' }) || s.status === 'done').then(async () => {
        if (this._admitting) return this;
        // a failed start closes whatever it had started (spawners, servers) before it rejects
        await this.onShutdown().catch(() => undefined);
        const err = this.startError;
        throw new BackendError(`Backend ${this.name} failed to start: ${(err as Error)?.message ?? err}`, this.name, { cause: err });
      });
      this._actor.send({ type: 'START' });
    }
    return this.startPromise;
  }

  /** Resolves at the first snapshot of the backend chart (from now on) that satisfies `test`. */
  private until(test: (s: ReturnType<BackendActor['getSnapshot']>) => boolean): Promise<void> {
    return new Promise<void>((resolve) => {
      if (test(this._actor.getSnapshot())) return resolve();
      const sub = this._actor.subscribe({
        next: (s) => {
          if (!test(s)) return;
          sub.unsubscribe();
          resolve();
        },
        error: () => resolve(),
        complete: () => resolve(),
      });
    });
  }

  /** @internal True while the backend admits tasks. */
  get _admitting(): boolean {
    return this._actor.getSnapshot().matches({ RUNNING: 'active' });
  }

  /** @internal Attaches a session's inspector; replays this backend's actor to it. */
  _attachInspector(option: InspectOption): void {
    this._inspectHub.attach(option, [this._actor]);
  }

  /** Can this backend run the task? (routing) */
  abstract accepts(spec: TaskSpec): boolean;

  /**
   * Checks backend-specific task options while the session routes a batch, before anything is
   * submitted; throws TaskValidationError. Default: nothing to check.
   */
  validate(_spec: TaskSpec): void {}

  /** @internal Admits a routed batch of runs (SUBMITTED → QUEUED, or FAILED when not admissible). */
  _submit(runs: TaskRun[]): void {
    if (!this._admitting) {
      const err = new BackendError(`Backend ${this.name} is not running (state ${this.state})`, this.name);
      for (const r of runs) r.fail(err);
      return;
    }
    for (const run of runs) {
      run.owner = this;
      // a retried run comes back here and is already in the list
      if (this.runs[run._ownerAt] !== run) run._ownerAt = this.runs.push(run) - 1;
      run.requeue(); // SUBMITTED → QUEUED
      let refusal: Error | null;
      try {
        refusal = this.admission(run);
      } catch (err) {
        refusal = toError(err);
      }
      if (refusal) {
        run.fail(refusal);
        continue;
      }
      const key = this.laneOf(run);
      let lane = this.lanes.get(key);
      if (!lane) this.lanes.set(key, (lane = { items: [], head: 0 }));
      lane.items.push(run);
    }
    this.reportLoad();
    this.pump();
  }

  /** Runs admitted and waiting for capacity (across lanes; may count a few already canceled). */
  protected get waiting(): number {
    let n = 0;
    for (const lane of this.lanes.values()) n += lane.items.length - lane.head;
    return n;
  }

  /** A reason to fail a task at admission instead of queueing it (e.g. resources no node has). */
  protected admission(_handle: TaskHandle): Error | null {
    return null;
  }

  /** Which FIFO a run waits in (runs of different lanes never block each other). */
  protected laneOf(_handle: TaskHandle): string {
    return '';
  }

  /** The capacity predicate: true if the run may start now (and whatever it needs is now held). */
  protected reserve(_handle: TaskHandle): boolean {
    return true;
  }

  /** Gives back what `reserve` took, when a run that started is terminal. */
  protected released(_handle: TaskHandle): void {}

  /** Runs one admitted task; ends it through the handle or by resolving to an Outcome. */
  protected abstract run(handle: TaskHandle): void | Promise<Outcome | void>;

  /** Runs an admission pass now (subclasses call it when capacity frees). */
  protected pump(): void {
    const deadline = performance.now() + SLICE_MS;
    let n = 0;
    for (const lane of this.lanes.values()) {
      const q = lane.items;
      let i = lane.head;
      while (i < q.length) {
        const run = q[i]!;
        const stale = run.state !== 'QUEUED' || run._launched;
        if (!stale && !this.reserve(run)) {
          if (!this.backfill) break;
          i++;
          continue;
        }
        if (i === lane.head) {
          q[i++] = undefined as unknown as TaskRun;
          lane.head = i;
        } else {
          q.splice(i, 1);
        }
        if (stale) continue;
        this.launch(run);
        if ((++n & 255) === 0 && performance.now() > deadline) {
          this.schedulePump(true);
          return;
        }
      }
      if (lane.head === q.length) {
        lane.items = [];
        lane.head = 0;
      } else if (lane.head > 4096 && lane.head * 2 > q.length) {
        lane.items = q.slice(lane.head);
        lane.head = 0;
      }
    }
  }

  private schedulePump(yieldToIo = false): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    const go = () => {
      this.pumpScheduled = false;
      this.pump();
    };
    if (yieldToIo) setImmediate(go);
    else queueMicrotask(go);
  }

  private launch(run: TaskRun): void {
    run._launched = true;
    // an outcome that arrives after a later attempt has started belongs to an earlier one: ignored
    const attempt = run.attempt;
    let result: void | Promise<Outcome | void>;
    try {
      result = this.run(run);
    } catch (err) {
      run.fail(toError(err));
      return;
    }
    if (result && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<Outcome | void>).then(
        (o) => {
          if (o && run.endedAt === 0 && run.attempt <= attempt + 1) run.settle(o);
        },
        (err: unknown) => {
          if (run.endedAt === 0 && run.attempt <= attempt + 1) run.fail(toError(err));
        },
      );
    }
  }

  /**
   * @internal A run whose attempt failed and will be retried (RUNNING → QUEUED): what it held is given
   * back; after its delay the session admits it again with `_submit`.
   */
  _runRetrying(run: TaskRun): void {
    if (run._launched) {
      run._launched = false;
      this.released(run);
    }
    this.schedulePump();
  }

  /** @internal The registry tells the owner of a run that it is terminal. */
  _runEnded(run: TaskRun): void {
    const at = run._ownerAt;
    if (at < 0 || this.runs[at] !== run) return;
    // swap-remove: the last run takes the freed place
    const last = this.runs.pop()!;
    if (last !== run) {
      this.runs[at] = last;
      last._ownerAt = at;
    }
    run._ownerAt = -1;
    if (run._launched) {
      run._launched = false;
      this.released(run);
    }
    this.schedulePump();
    this.reportLoad();
  }

  /** The chart's in-flight count, updated at most once per tick (a transition costs ~35 µs). */
  private reportLoad(): void {
    if (this.loadScheduled) return;
    this.loadScheduled = true;
    queueMicrotask(() => {
      this.loadScheduled = false;
      if (this.runs.length !== this.reportedLoad) this.sendLoad();
    });
  }

  private sendLoad(): void {
    if (this.actorRef?.getSnapshot().status !== 'active') return;
    this.reportedLoad = this.runs.length;
    this.actorRef.send({ type: 'LOAD', inFlight: this.reportedLoad });
  }

  /** Cancels one task by uid, stopping whatever runs it. Resolves true if it was canceled. */
  async cancelTask(uid: string): Promise<boolean> {
    const run = this.runs.find((r) => r.uid === uid);
    if (!run) return false;
    return this._cancelRun(run);
  }

  /** @internal Cancels one of this backend's runs (the session's cancel; no lookup by uid). */
  async _cancelRun(run: TaskRun): Promise<boolean> {
    if (this.runs[run._ownerAt] !== run) return false;
    this.abortRun(run);
    await run.ended();
    return run.state === 'CANCELED';
  }

  /** Not started yet: ends CANCELED here; running: its backend stops it and ends it CANCELED. */
  private abortRun(run: TaskRun): void {
    if (!run._launched) {
      run.canceled();
      return;
    }
    if (!run.abort()) run.canceled(); // nothing listens: nothing can be stopped, its late outcome is ignored
  }

  /** Stops admitting, cancels what is in flight (every future settles), closes executors. Idempotent. */
  shutdown(): Promise<void> {
    if (!this.shutdownPromise) this.shutdownPromise = this.doShutdown();
    return this.shutdownPromise;
  }

  /** SHUTDOWN to the chart: it aborts every run (`abortRuns`), waits for none in flight, then closes executors. */
  private async doShutdown(): Promise<void> {
    if (this.state === 'INITIALIZED') {
      this._actor.send({ type: 'SHUTDOWN' });
      return;
    }
    if (this.startPromise) await this.startPromise.catch(() => undefined);
    if (this.state === 'SHUTDOWN') return;
    const stopped = this.until((s) => s.status === 'done');
    this.sendLoad();
    this._actor.send({ type: 'SHUTDOWN' });
    await stopped;
    if (this.closeError) throw this.closeError;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  protected abstract onStart(): Promise<void>;
  protected abstract onShutdown(): Promise<void>;
}
