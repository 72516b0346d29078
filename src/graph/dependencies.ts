import { AITask } from '../ai-task.js';
import { ComputeTask } from '../compute-task.js';
import { SessionError } from '../errors.js';
import { BaseTask } from '../task-base.js';
import { taskOfFuture } from './futures.js';

const NONE: readonly BaseTask[] = Object.freeze([]);

/** The task a value stands for: a task itself, or a future returned by submitTasks; else undefined. */
export function dependencyOf(value: unknown): BaseTask | undefined {
  return value instanceof BaseTask ? value : taskOfFuture(value);
}

/**
 * The tasks a task depends on, each once, in order: `dependsOn`, then tasks and futures at the top level
 * of `args`, as values of `kwargs`, and in an executable's `arguments`. An entry of `dependsOn` that is
 * neither a task nor a future returned by submitTasks is a SessionError (any thenable passes the
 * constructor; only the session knows its futures).
 */
export function dependenciesOf(task: BaseTask): readonly BaseTask[] {
  let found: Set<BaseTask> | null = null;
  const add = (d: BaseTask) => (found ??= new Set()).add(d);
  for (const d of task.dependsOn) {
    const dep = dependencyOf(d);
    if (dep === undefined) throw new SessionError(`Task ${task.uid}: dependsOn holds a value that is neither a task nor a future returned by submitTasks`);
    add(dep);
  }
  if (task instanceof ComputeTask) {
    for (const a of task.args) {
      const dep = dependencyOf(a);
      if (dep !== undefined) add(dep);
    }
    if (task.kwargs !== undefined) {
      for (const key in task.kwargs) {
        const dep = dependencyOf(task.kwargs[key]);
        if (dep !== undefined) add(dep);
      }
    }
    for (const a of task.arguments as unknown[]) {
      if (typeof a === 'string') continue;
      const dep = dependencyOf(a);
      if (dep !== undefined) add(dep);
    }
  } else if (!(task instanceof AITask)) {
    throw new SessionError(`Task ${task.uid}: unknown task kind`);
  }
  return found === null ? NONE : [...found];
}
