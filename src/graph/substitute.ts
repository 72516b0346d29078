import { AITask } from '../ai-task.js';
import type { ComputeTask } from '../compute-task.js';
import type { TaskSpec } from '../run/task-handle.js';
import { SessionError, TaskValidationError } from '../errors.js';
import type { BaseTask } from '../task-base.js';
import type { PromptFunction } from '../task-types.js';
import { dependencyOf } from './dependencies.js';

/** A dependency's value as an argument or kwarg: returnValue (function), stdout (executable), response (AITask). */
export function dependencyValue(dep: BaseTask): unknown {
  checkDone(dep);
  if (dep instanceof AITask) return dep.response;
  return (dep as ComputeTask).executable !== undefined ? dep.stdout : dep.returnValue;
}

/**
 * A dependency's value in an executable's `arguments`: an executable's stdout without its final newline
 * (as `$(cmd)` in a shell), a function's stdout (the text form of its return value), an AITask's
 * response (several responses one per line).
 */
export function argumentOf(dep: BaseTask): string {
  checkDone(dep);
  if (dep instanceof AITask) return Array.isArray(dep.response) ? dep.response.join('\n') : String(dep.response ?? '');
  const out = dep.stdout ?? '';
  return (dep as ComputeTask).executable !== undefined ? out.replace(/\r?\n$/, '') : out;
}

function checkDone(dep: BaseTask): void {
  // the tracker releases a task only when every dependency is DONE; anything else is a runtime bug
  if (dep.state !== 'DONE') throw new SessionError(`Dependency ${dep.uid} is ${dep.state}, not DONE: its value is not available`);
}

/**
 * The task's spec (what its backend sees) with each dependency replaced by its value, computed when the
 * task starts (every dependency DONE): a new frozen spec, or null when nothing needs replacing. Values
 * are passed by reference: nothing is copied or serialised here. A prompt function is called with the
 * results of `dependsOn`, in that order; if it throws or returns something that is not a non-empty
 * string (or array of them), that is a TaskValidationError naming the task and `prompt` (the session
 * fails the task with it).
 */
export function resolveSpec(task: BaseTask, spec: TaskSpec): TaskSpec | null {
  if (spec.kind === 'ai') {
    if (typeof (spec.prompt as unknown) !== 'function') return null;
    return Object.freeze({ ...spec, prompt: evaluatePrompt(task, spec.prompt as unknown as PromptFunction) });
  }
  let args: unknown[] | undefined;
  let kwargs: Record<string, unknown> | undefined;
  let argv: string[] | undefined;
  if (spec.args.some((a) => dependencyOf(a) !== undefined)) {
    args = spec.args.map((a) => {
      const dep = dependencyOf(a);
      return dep === undefined ? a : dependencyValue(dep);
    });
  }
  const kw = spec.kwargs;
  if (kw !== undefined && Object.values(kw).some((v) => dependencyOf(v) !== undefined)) {
    kwargs = Object.fromEntries(
      Object.entries(kw).map(([k, v]) => {
        const dep = dependencyOf(v);
        return [k, dep === undefined ? v : dependencyValue(dep)];
      }),
    );
  }
  if ((spec.arguments as readonly unknown[]).some((a) => typeof a !== 'string')) {
    argv = (spec.arguments as readonly unknown[]).map((a) => {
      if (typeof a === 'string') return a;
      const dep = dependencyOf(a);
      if (dep === undefined) throw new SessionError(`Task ${task.uid}: arguments holds a value that is neither a string, a task nor a future`);
      return argumentOf(dep);
    });
  }
  if (args === undefined && kwargs === undefined && argv === undefined) return null;
  return Object.freeze({ ...spec, ...(args && { args }), ...(kwargs && { kwargs }), ...(argv && { arguments: argv }) });
}

function evaluatePrompt(task: BaseTask, fn: PromptFunction): string | string[] {
  const results = task.dependsOn.map((d) => {
    const dep = dependencyOf(d);
    if (dep === undefined) throw new SessionError(`Task ${task.uid}: dependsOn holds a value that is neither a task nor a future returned by submitTasks`);
    checkDone(dep);
    return dep.toResult();
  });
  let prompt: unknown;
  try {
    prompt = fn(results);
  } catch (err) {
    throw new TaskValidationError(`Invalid task ${task.uid}: prompt: the prompt function threw: ${(err as Error)?.message ?? String(err)}`, task.uid, 'prompt', { cause: err });
  }
  const ok = (typeof prompt === 'string' && prompt.length > 0) || (Array.isArray(prompt) && prompt.length > 0 && prompt.every((p) => typeof p === 'string' && p.length > 0));
  if (!ok) throw new TaskValidationError(`Invalid task ${task.uid}: prompt: the prompt function must return a non-empty string or array of non-empty strings`, task.uid, 'prompt');
  return prompt as string | string[];
}
