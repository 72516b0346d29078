import { createActor, type Actor } from 'xstate';
import type { Observable } from 'rxjs';
import { backendMachine, type BackendStateName } from '../../machines/backend.machine.js';
import type { TaskMachineEvent } from '../../machines/task.machine.js';
import { BackendError } from '../errors.js';
import type { BaseTask } from '../task-base.js';
import { actorState$ } from '../internal/actor-stream.js';
import { InspectHub, type InspectOption } from '../internal/inspect-hub.js';

/** What a backend needs from the session for one batch. */
export interface SubmitContext {
  /** `<workDir>/<session uid>` */
  sessionDir: string;
}

/** Applies a chart event to a submitted task through the session that drives it. */
export function sendTask(task: BaseTask, event: TaskMachineEvent): boolean {
  return task._driver ? task._driver.send(task, event) : false;
}

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

/**
 * Common backend lifecycle (INITIALIZED → RUNNING → SHUTDOWN) around the backend chart.
 * Subclasses implement `onStart`, `admit`, `cancelRunning`, `onShutdown` and `accepts`.
 */
export abstract class Backend implements AsyncDisposable {
  abstract readonly kind: 'execution' | 'inference';
  readonly name: string;
  /** @internal */ readonly _inspectHub = new InspectHub();
  /** Tasks admitted and not terminal, by uid. */
  protected readonly inFlight = new Map<string, BaseTask>();
  private actorRef: BackendActor | null = null;
  private startPromise: Promise<this> | null = null;
  private shutdownPromise: Promise<void> | null = null;
  private drainWaiter: (() => void) | null = null;

  protected constructor(name: string) {
    this.name = name;
  }

  /** @internal The backend's actor (created on first use, so subclass fields are set). */
  get _actor(): BackendActor {
    if (!this.actorRef) {
      const actor = createActor(backendMachine, { input: { name: this.name, kind: this.kind }, inspect: this._inspectHub.inspect });
      actor.subscribe({ error: () => undefined });
      this.actorRef = actor.start();
    }
    return this.actorRef;
  }

  get state(): BackendStateName {
    const v = this._actor.getSnapshot().value;
    return (typeof v === 'string' ? v : Object.keys(v)[0]) as BackendStateName;
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
      this._actor.send({ type: 'START' });
      this.startPromise = this.onStart().then(
        () => {
          this._actor.send({ type: 'STARTED' });
          return this;
        },
        (err: unknown) => {
          this._actor.send({ type: 'START_FAILED', error: String((err as Error)?.message ?? err) });
          throw new BackendError(`Backend ${this.name} failed to start: ${(err as Error)?.message ?? err}`, this.name, { cause: err });
        },
      );
    }
    return this.startPromise;
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
  abstract accepts(task: BaseTask): boolean;

  /**
   * Checks backend-specific task options while the session routes a batch, before anything is
   * submitted; throws TaskValidationError. Default: nothing to check.
   */
  validate(_task: BaseTask): void {}

  /** @internal Admits a routed batch; tasks are SUBMITTED. */
  _submit(tasks: BaseTask[], ctx: SubmitContext): void {
    if (!this._admitting) {
      const err = new BackendError(`Backend ${this.name} is not running (state ${this.state})`, this.name);
      for (const t of tasks) sendTask(t, { type: 'FAIL', error: err });
      return;
    }
    for (const t of tasks) this.inFlight.set(t.uid, t);
    this.reportLoad();
    this.admit(tasks, ctx);
  }

  /** @internal Called by subclasses when a task they ran is terminal. */
  protected release(task: BaseTask): void {
    if (!this.inFlight.delete(task.uid)) return;
    if (this.inFlight.size === 0) {
      this.reportLoad();
      if (this.drainWaiter) this.drainWaiter();
    }
  }

  private reportLoad(): void {
    if (this._inspectHub.active) this._actor.send({ type: 'LOAD', inFlight: this.inFlight.size });
  }

  /** Cancels one task by uid, killing whatever runs it. Resolves true if it was canceled. */
  async cancelTask(uid: string): Promise<boolean> {
    const task = this.inFlight.get(uid);
    if (!task) return false;
    await this.cancelRunning(task);
    return task.state === 'CANCELED';
  }

  /** Stops admitting, cancels what is in flight (every future settles), closes executors. Idempotent. */
  shutdown(): Promise<void> {
    if (!this.shutdownPromise) this.shutdownPromise = this.doShutdown();
    return this.shutdownPromise;
  }

  private async doShutdown(): Promise<void> {
    if (this.state === 'INITIALIZED') {
      this._actor.send({ type: 'SHUTDOWN' });
      return;
    }
    if (this.startPromise) await this.startPromise.catch(() => undefined);
    if (this.state === 'SHUTDOWN') return;
    this._actor.send({ type: 'LOAD', inFlight: this.inFlight.size });
    this._actor.send({ type: 'SHUTDOWN' });
    const drained = this.inFlight.size === 0 ? Promise.resolve() : new Promise<void>((r) => (this.drainWaiter = r));
    await Promise.all([...this.inFlight.values()].map((task) => this.cancelRunning(task)));
    await drained;
    this._actor.send({ type: 'DRAINED' });
    try {
      await this.onShutdown();
    } finally {
      this._actor.send({ type: 'STOPPED' });
      this._actor.stop();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.shutdown();
  }

  protected abstract onStart(): Promise<void>;
  protected abstract admit(tasks: BaseTask[], ctx: SubmitContext): void;
  /** Kill what runs the task, then end it CANCELED through the sink (unless already terminal). */
  protected abstract cancelRunning(task: BaseTask): Promise<void>;
  protected abstract onShutdown(): Promise<void>;
}
