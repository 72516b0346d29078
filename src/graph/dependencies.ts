import { AITask } from '../ai-task.js';
import { ComputeTask } from '../compute-task.js';
import { SessionError } from '../errors.js';
import { BaseTask } from '../task-base.js';
import { isThenable, taskOfFuture } from './futures.js';

const NONE: readonly BaseTask[] = Object.freeze([]);

/** The task a value stands for: a task itself, or a future returned by submitTasks; else undefined. */
export function dependencyOf(value: unknown): BaseTask | undefined {
  return value instanceof BaseTask ? value : taskOfFuture(value);
}

/** A value in `args`, `kwargs` or `arguments`: added to `found` if it is a task or a known future (else data). */
function collect(value: unknown, found: Set<BaseTask> | null, unknown: PromiseLike<unknown>[] | undefined): Set<BaseTask> | null {
  if (typeof value !== 'object' || value === null) return found;
  const dep = dependencyOf(value);
  if (dep !== undefined) (found ??= new Set()).add(dep);
  else if (unknown !== undefined && isThenable(value)) unknown.push(value);
  return found;
}

/**
 * The tasks a task depends on, each once, in order: `dependsOn`, then tasks and futures at the top level
 * of `args`, as values of `kwargs`, and in an executable's `arguments`. An entry of `dependsOn` that is
 * neither a task nor a future returned by submitTasks is a SessionError (any thenable passes the
 * constructor; only the session knows its futures). With `unknown`, thenables not yet known as futures
 * are collected there instead (the session resolves them, then asks again).
 */
export function dependenciesOf(task: BaseTask, unknown?: PromiseLike<unknown>[]): readonly BaseTask[] {
  // indexed loops and no closure: this runs for every submitted task, most of which have no dependency
  let found: Set<BaseTask> | null = null;
  const dependsOn = task.dependsOn;
  for (let i = 0; i < dependsOn.length; i++) {
    const d = dependsOn[i];
    const dep = dependencyOf(d);
    if (dep !== undefined) (found ??= new Set()).add(dep);
    else if (unknown !== undefined && isThenable(d)) unknown.push(d);
    else throw new SessionError(`Task ${task.uid}: dependsOn holds a value that is neither a task nor a future returned by submitTasks`);
  }
  if (task instanceof ComputeTask) {
    const args = task.args;
    for (let i = 0; i < args.length; i++) found = collect(args[i], found, unknown);
    const kwargs = task.kwargs;
    if (kwargs !== undefined) for (const key in kwargs) found = collect(kwargs[key], found, unknown);
    const argv = task.arguments as unknown[];
    for (let i = 0; i < argv.length; i++) found = collect(argv[i], found, unknown);
  } else if (!(task instanceof AITask)) {
    throw new SessionError(`Task ${task.uid}: unknown task kind`);
  }
  return found === null ? NONE : [...found];
}
