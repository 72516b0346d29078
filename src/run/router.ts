import { AITask } from '../ai-task.js';
import type { Backend } from '../backends/backend.js';
import { SessionError } from '../errors.js';
import { BaseTask, claimForBatch, uidMayCollide } from '../task-base.js';
import type { TaskSpec } from './task-handle.js';

/** Where each task of a batch goes, and its frozen spec. */
export interface RoutePlan {
  backendOf: Backend[];
  specs: TaskSpec[];
}

/**
 * Routes a whole batch before anything is submitted: an explicit backend name, else the first
 * compatible backend (ComputeTask → first execution backend, AITask → first inference backend).
 * Any problem (unknown or incompatible backend, duplicate uid, a backend's own validation) throws,
 * so a batch is submitted whole or not at all.
 */
export function routeBatch(tasks: readonly BaseTask[], backendList: readonly Backend[], isLive: (uid: string) => boolean, sessionUid: string): RoutePlan {
  if (!Array.isArray(tasks)) throw new SessionError('submitTasks expects an array of tasks');
  const backendOf: Backend[] = new Array(tasks.length);
  const specs: TaskSpec[] = new Array(tasks.length);
  const seen = new Set<string>();
  let firstExec: Backend | undefined;
  let firstInference: Backend | undefined;
  for (const b of backendList) {
    if (b.kind === 'execution') firstExec ??= b;
    else firstInference ??= b;
  }
  for (let i = 0; i < tasks.length; i++) {
    const task = tasks[i];
    if (!(task instanceof BaseTask)) throw new SessionError(`submitTasks: item ${i} is not a task`);
    if (task.state !== 'NEW') throw new SessionError(`Task ${task.uid} was already submitted (state ${task.state})`);
    if (!claimForBatch(task, backendOf)) throw new SessionError(`Duplicate task uid ${task.uid}`);
    // a generated uid is unique by construction: only the others are looked up
    if (uidMayCollide(task.uid)) {
      if (seen.has(task.uid) || isLive(task.uid)) throw new SessionError(`Duplicate task uid ${task.uid}`);
      seen.add(task.uid);
    }
    const spec = task._spec();
    let backend: Backend | undefined;
    if (task.backend !== null) {
      backend = backendList.find((b) => b.name === task.backend);
      if (!backend) {
        throw new SessionError(`Task ${task.uid}: unknown backend "${task.backend}" (session has: ${backendList.map((b) => b.name).join(', ') || 'none'})`);
      }
      if (!backend.accepts(spec)) throw new SessionError(`Task ${task.uid}: backend "${backend.name}" (${backend.kind}) cannot run a ${task.kind} task`);
    } else {
      backend = task instanceof AITask ? firstInference : firstExec;
      if (!backend?.accepts(spec)) {
        throw new SessionError(`Task ${task.uid}: no compatible ${task instanceof AITask ? 'inference' : 'execution'} backend in session ${sessionUid}`);
      }
    }
    if (backend.state === 'SHUTDOWN') throw new SessionError(`Task ${task.uid}: backend "${backend.name}" is shut down`);
    backend.validate(spec);
    backendOf[i] = backend;
    specs[i] = spec;
  }
  return { backendOf, specs };
}
