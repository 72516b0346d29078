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
  static override [Symbol.hasInstance](value: unknown): boolean {
    if (Function.prototype[Symbol.hasInstance].call(this, value)) return true;
    if (!isRhapsodyError(value)) return false;
    for (let p = Object.getPrototypeOf(value); p && p !== Error.prototype; p = Object.getPrototypeOf(p)) {
      if (p.constructor?.name === this.name) return true;
    }
    return false;
  }
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

/** Backend infrastructure failure (a worker pool, spawner or engine is down). */
export class BackendError extends RhapsodyError {
  override readonly code = 'BACKEND_ERROR';
  constructor(message: string, readonly backend?: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Invalid task definition; names the task uid and the field. */
export class TaskValidationError extends RhapsodyError {
  override readonly code = 'TASK_VALIDATION_ERROR';
  constructor(message: string, readonly taskUid?: string, readonly field?: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A task ran but failed: non-zero exit, signal, timeout, dead worker. */
export class TaskExecutionError extends RhapsodyError {
  override readonly code = 'TASK_EXECUTION_ERROR';
  readonly taskUid: string;
  readonly exitCode: number | null;
  readonly stderr: string | null;
  readonly signal: string | null;
  constructor(
    message: string,
    details: { taskUid: string; exitCode?: number | null; stderr?: string | null; signal?: string | null },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.taskUid = details.taskUid;
    this.exitCode = details.exitCode ?? null;
    this.stderr = details.stderr ?? null;
    this.signal = details.signal ?? null;
  }
}

/** Session-level misuse: routing, duplicate uid, closed session, unsubmitted task. */
export class SessionError extends RhapsodyError {
  override readonly code = 'SESSION_ERROR';
}

/** Resource requirements no node or worker can ever satisfy. */
export class ResourceError extends RhapsodyError {
  override readonly code = 'RESOURCE_ERROR';
  constructor(message: string, readonly taskUid?: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The task was canceled (by the caller, or by session close). */
export class TaskCanceledError extends RhapsodyError {
  override readonly code = 'TASK_CANCELED';
  constructor(message: string, readonly taskUid?: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** A wait ran past its deadline. */
export class TimeoutError extends RhapsodyError {
  override readonly code = 'TIMEOUT';
}

/**
 * A dependency of the task FAILED or was CANCELED, so the task ended FAILED without running.
 * `dependencyUid` is the direct dependency; `cause` is that dependency's error (for a dependency that
 * itself failed this way, another DependencyError), so the cause chain reaches the root failure.
 */
export class DependencyError extends RhapsodyError {
  override readonly code = 'DEPENDENCY_ERROR';
  constructor(message: string, readonly taskUid: string, readonly dependencyUid: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
