/**
 * One error vocabulary. Every error has a stable `code` and keeps `cause`.
 *
 * @example
 * try { await task } catch (e) { if (e instanceof TaskExecutionError) console.log(e.exitCode) }
 */
export class RhapsodyError extends Error {
  readonly code: string = 'RHAPSODY_ERROR';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    Object.defineProperty(this, BRAND, { value: true });
  }

  /**
   * `instanceof` also recognises errors made by another copy of the package (the ESM and the CJS
   * build each have their own classes): by the brand and the class names on the prototype chain.
   */
  // `this` is the class `instanceof` asks about (a subclass too), not RhapsodyError
  // biome-ignore-start lint/complexity/noThisInStatic: see above
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    if (!isRhapsodyError(value)) return false;
    for (let p = Object.getPrototypeOf(value); p && p !== Error.prototype; p = Object.getPrototypeOf(p)) {
      if (p.constructor?.name === this.name) return true;
    }
    return false;
  }
  // biome-ignore-end lint/complexity/noThisInStatic: see above
}

/** A global symbol, so that every copy of the package brands its errors the same way. */
const BRAND = Symbol.for('rhapsody.error');

/**
 * True for any rhapsody error, whichever copy of the package (ESM or CJS build) made it.
 *
 * @example
 * try { await task } catch (e) { if (isRhapsodyError(e)) console.log(e.code) }
 */
export function isRhapsodyError(value: unknown): value is RhapsodyError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/**
 * Backend infrastructure failure (a worker pool, spawner or engine is down).
 *
 * @example
 * // an AITask whose endpoint cannot be reached ends FAILED with the backend's name and the reason
 * try { await aiTask } catch (e) { if (e instanceof BackendError) console.error(e.backend, e.message) }
 */
export class BackendError extends RhapsodyError {
  override readonly code = 'BACKEND_ERROR';
  constructor(
    message: string,
    readonly backend?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Invalid task definition; names the task uid and the field.
 *
 * @example
 * try { new ComputeTask({ executable: '/bin/true', taskBackendSpecificKwargs: { timeout: -1 } }) }
 * catch (e) { if (e instanceof TaskValidationError) console.error(e.taskUid, e.field) } // task.000001 taskBackendSpecificKwargs.timeout
 */
export class TaskValidationError extends RhapsodyError {
  override readonly code = 'TASK_VALIDATION_ERROR';
  constructor(
    message: string,
    readonly taskUid?: string,
    readonly field?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A task ran but failed: non-zero exit, signal, timeout, dead worker.
 *
 * @example
 * const [future] = await session.submitTasks([new ComputeTask({ executable: '/bin/sh', arguments: ['-c', 'exit 3'] })]);
 * try { await future } catch (e) { if (e instanceof TaskExecutionError) console.error(e.taskUid, e.exitCode, e.stderr) }
 */
export class TaskExecutionError extends RhapsodyError {
  override readonly code = 'TASK_EXECUTION_ERROR';
  readonly taskUid: string;
  readonly exitCode: number | null;
  readonly stderr: string | null;
  readonly signal: string | null;
  constructor(message: string, details: { taskUid: string; exitCode?: number | null; stderr?: string | null; signal?: string | null }, options?: { cause?: unknown }) {
    super(message, options);
    this.taskUid = details.taskUid;
    this.exitCode = details.exitCode ?? null;
    this.stderr = details.stderr ?? null;
    this.signal = details.signal ?? null;
  }
}

/**
 * Session-level misuse: routing, duplicate uid, closed session, unsubmitted task.
 *
 * @example
 * await session.close();
 * await session.submitTasks([task]).catch((e) => e instanceof SessionError); // true: the session is closed
 */
export class SessionError extends RhapsodyError {
  override readonly code = 'SESSION_ERROR';
}

/**
 * Resource requirements no node or worker can ever satisfy.
 *
 * @example
 * // the default local cluster's workers offer no GPU
 * await using session = new Session({ backends: [await DistributedExecutionBackend.create({ resources: { nWorkers: 1 } })] });
 * const [future] = await session.submitTasks([new ComputeTask({ executable: '/bin/true', taskBackendSpecificKwargs: { resources: { GPU: 64 } } })]);
 * await future.catch((e) => isRhapsodyError(e) && e.code === 'RESOURCE_ERROR'); // true: no worker offers 64 GPUs
 */
export class ResourceError extends RhapsodyError {
  override readonly code = 'RESOURCE_ERROR';
  constructor(
    message: string,
    readonly taskUid?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The task was canceled (by the caller, or by session close).
 *
 * @example
 * const [future] = await session.submitTasks([task]);
 * await task.cancel();
 * await future.catch((e) => e instanceof TaskCanceledError); // true
 */
export class TaskCanceledError extends RhapsodyError {
  override readonly code = 'TASK_CANCELED';
  constructor(
    message: string,
    readonly taskUid?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A wait ran past its deadline.
 *
 * @example
 * await session.waitTasks(tasks, { timeout: 30_000 }).catch((e) => {
 *   if (e instanceof TimeoutError) console.error(e.message); // Timeout after 30000 ms: 7/10 tasks completed
 * });
 */
export class TimeoutError extends RhapsodyError {
  override readonly code = 'TIMEOUT';
}

/**
 * A dependency of the task FAILED or was CANCELED, so the task ended FAILED without running.
 * `dependencyUid` is the direct dependency; `cause` is that dependency's error (for a dependency that
 * itself failed this way, another DependencyError), so the cause chain reaches the root failure.
 *
 * @example
 * const sim = new ComputeTask({ executable: '/bin/false' });
 * const summary = new ComputeTask({ function: (out: string) => out.length, args: [sim] });
 * await session.submitTasks([sim, summary]);
 * await summary.catch((e) => e instanceof DependencyError && console.log(e.dependencyUid)); // sim's uid
 */
export class DependencyError extends RhapsodyError {
  override readonly code = 'DEPENDENCY_ERROR';
  constructor(
    message: string,
    readonly taskUid: string,
    readonly dependencyUid: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
