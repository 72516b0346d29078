import { SessionError } from '../errors.js';
import type { BaseTask } from '../task-base.js';
import { dependenciesOf } from './dependencies.js';

/**
 * Checks the dependencies of a batch before anything of it is submitted and returns them, aligned with
 * `tasks` (an empty array for a task without any). A dependency must be in the batch or already
 * submitted to this session (`sessionOf(dep) === session`); one of another session, one submitted
 * nowhere, or a cycle in the batch is a SessionError. Cost: O(tasks + edges).
 */
export function validateBatch(tasks: readonly BaseTask[], session: object, sessionOf: (task: BaseTask) => object | null, unknown?: PromiseLike<unknown>[]): ReadonlyArray<readonly BaseTask[]> {
  const deps: Array<readonly BaseTask[]> = new Array(tasks.length);
  let any = false;
  for (let i = 0; i < tasks.length; i++) {
    const list = dependenciesOf(tasks[i]!, unknown);
    deps[i] = list;
    if (list.length > 0) any = true;
  }
  // a batch without any dependency (the common case) costs one scan of the inputs, nothing more;
  // with thenables to resolve first, the caller asks again
  if (!any || (unknown !== undefined && unknown.length > 0)) return deps;
  const index = new Map<BaseTask, number>();
  for (let i = 0; i < tasks.length; i++) index.set(tasks[i]!, i);
  for (let i = 0; i < tasks.length; i++) {
    const task = tasks[i]!;
    for (const dep of deps[i]!) {
      if (index.has(dep)) continue;
      const owner = sessionOf(dep);
      if (owner === session) continue;
      if (owner !== null) throw new SessionError(`Task ${task.uid} depends on task ${dep.uid} of another session; a dependency must be submitted to the same session`);
      throw new SessionError(`Task ${task.uid} depends on task ${dep.uid}, which is neither in this batch nor submitted; submit it first or in the same batch`);
    }
  }
  checkAcyclic(tasks, index, deps);
  return deps;
}

/**
 * Iterative depth-first search over the batch (a task submitted earlier cannot depend on this batch,
 * so a cycle lies inside it); a back edge is a cycle, reported as `a → b → … → a`.
 */
function checkAcyclic(tasks: readonly BaseTask[], index: Map<BaseTask, number>, deps: ReadonlyArray<readonly BaseTask[]>): void {
  const color = new Uint8Array(tasks.length); // 0 unvisited, 1 on the stack, 2 done
  const stack: number[] = [];
  const next = new Uint32Array(tasks.length); // per node: the next dependency to look at
  for (let root = 0; root < tasks.length; root++) {
    if (color[root] !== 0) continue;
    stack.push(root);
    color[root] = 1;
    while (stack.length > 0) {
      const v = stack[stack.length - 1]!;
      const list = deps[v]!;
      if (next[v]! < list.length) {
        const w = index.get(list[next[v]++]!);
        if (w === undefined || color[w] === 2) continue;
        if (color[w] === 1) {
          const cycle = stack.slice(stack.indexOf(w)).map((k) => tasks[k]!.uid);
          throw new SessionError(`Dependency cycle: ${[...cycle, cycle[0]].join(' → ')}; nothing of the batch was submitted`);
        }
        color[w] = 1;
        stack.push(w);
      } else {
        color[v] = 2;
        stack.pop();
      }
    }
  }
}
