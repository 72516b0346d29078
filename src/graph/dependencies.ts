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
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (typeof a !== 'object' || a === null) continue;
      const dep = dependencyOf(a);
      if (dep !== undefined) (found ??= new Set()).add(dep);
      else if (unknown !== undefined && isThenable(a)) unknown.push(a);
    }
    const kwargs = task.kwargs;
    if (kwargs !== undefined) {
      for (const key in kwargs) {
        const v = kwargs[key];
        const dep = dependencyOf(v);
        if (dep !== undefined) (found ??= new Set()).add(dep);
        else if (unknown !== undefined && isThenable(v)) unknown.push(v);
      }
    }
    const argv = task.arguments as unknown[];
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i];
      if (typeof a !== 'object' || a === null) continue;
      const dep = dependencyOf(a);
      if (dep !== undefined) (found ??= new Set()).add(dep);
      else if (unknown !== undefined && isThenable(a)) unknown.push(a);
    }
  } else if (!(task instanceof AITask)) {
    throw new SessionError(`Task ${task.uid}: unknown task kind`);
  }
  return found === null ? NONE : [...found];
}
