import { taskMachine, type TaskEventType, type TaskStateName } from '../../machines/task.machine.js';
import { TASK_DELAYS, TASK_GUARDS, type GuardContext, type TaskDelayName, type TaskGuard, type TaskGuardName } from '../../machines/task-guards.js';
import type { TaskMachineEvent } from '../../machines/task.machine.js';

export interface TableTransition {
  target: TaskStateName;
  actions: readonly string[];
  /** The chart's guard, the same pure function (machines/task-guards.ts); null when unguarded. */
  guard: TaskGuard | null;
  guardName: TaskGuardName | null;
  /** The next candidate for the same event, tried when this guard refuses. */
  next: TableTransition | undefined;
}

/**
 * A delayed transition of the chart, as data: on entering the state, if `transition.guard` passes, the
 * driver starts a timer of `ms(record)`; when it fires it sends `{ type: event }` (the row has it too).
 */
export interface DelayedTransition {
  /** The event XState raises when the delay ends; send it to a materialised actor to keep it in step. */
  event: string;
  delay: TaskDelayName;
  /** ms, from the chart's named delay (machines/task-guards.ts) */
  ms: (context: GuardContext) => number;
  transition: TableTransition;
}

type Table = Record<TaskStateName, Partial<Record<TaskEventType, TableTransition>>>;

type Spec = string | { target?: string; actions?: string | string[]; guard?: unknown };

/** One chart transition spec (or a list of guarded candidates) as a chain of table transitions. */
function chain(state: string, event: string, spec: Spec | Spec[]): TableTransition | undefined {
  const list = Array.isArray(spec) ? spec : [spec];
  let head: TableTransition | undefined;
  for (let i = list.length - 1; i >= 0; i--) {
    const raw = list[i]!;
    const t = typeof raw === 'string' ? { target: raw } : raw;
    if (t.guard !== undefined && typeof t.guard !== 'string') throw new Error(`task chart: only named guards are supported by the table (${state}.${event})`);
    const guardName = (t.guard as TaskGuardName | undefined) ?? null;
    if (guardName !== null && !(guardName in TASK_GUARDS)) throw new Error(`task chart: guard "${guardName}" is not in TASK_GUARDS (${state}.${event})`);
    const actions = t.actions === undefined ? [] : Array.isArray(t.actions) ? t.actions : [t.actions];
    // a targetless transition stays in the state and only runs its actions
    head = { target: (t.target ?? state) as TaskStateName, actions, guard: guardName === null ? null : TASK_GUARDS[guardName], guardName, next: head };
  }
  return head;
}

/**
 * The task chart flattened into a lookup table, read once from the machine definition. Driving a
 * plain record through it costs a property lookup per event (plus a guard call where the chart has
 * one) instead of an XState transition (~25–30 µs a lifecycle), and the chart stays the only place
 * where legal transitions are defined. Guarded candidates for one event are chained through `next`,
 * in the chart's order; the chart's guards are mutually exclusive, and the first candidate is the
 * path of a task without dependencies or retries.
 */
function deriveTable(): { table: Table; delayed: Partial<Record<TaskStateName, DelayedTransition>> } {
  const table = {} as Table;
  const delayed: Partial<Record<TaskStateName, DelayedTransition>> = {};
  const states = taskMachine.config.states as Record<string, { on?: Record<string, Spec | Spec[]>; after?: Record<string, Spec | Spec[]> }>;
  for (const [state, node] of Object.entries(states)) {
    const row: Partial<Record<TaskEventType, TableTransition>> = {};
    for (const [event, spec] of Object.entries(node.on ?? {})) row[event as TaskEventType] = chain(state, event, spec);
    table[state as TaskStateName] = row;
    const after = Object.entries(node.after ?? {});
    if (after.length > 1) throw new Error(`task chart: the table supports one delayed transition per state (${state})`);
    for (const [delay, spec] of after) {
      if (!(delay in TASK_DELAYS)) throw new Error(`task chart: delay "${delay}" is not in TASK_DELAYS (${state})`);
      const name = delay as TaskDelayName;
      const event = `xstate.after.${delay}.task.${state}`;
      const transition = chain(state, event, spec)!;
      delayed[state as TaskStateName] = { event, delay: name, ms: TASK_DELAYS[name], transition };
      // when the driver's timer fires it sends this event like any other (and to a materialised actor)
      (row as Record<string, TableTransition>)[event] = transition;
    }
  }
  return { table, delayed };
}

const derived = deriveTable();
export const LIFECYCLE: Readonly<Table> = derived.table;
/** Per state, the chart's delayed transition (the retry delay in QUEUED). */
export const DELAYED: Readonly<Partial<Record<TaskStateName, DelayedTransition>>> = derived.delayed;

/**
 * The transition the chart takes for `event` in `state` with this context (a task record or the
 * chart's context), or undefined if it takes none. An unguarded event costs one lookup and one check.
 */
export function nextTransition(context: GuardContext, state: TaskStateName, event: TaskMachineEvent): TableTransition | undefined {
  let t = LIFECYCLE[state][event.type];
  while (t !== undefined && t.guard !== null && !t.guard(context, event)) t = t.next;
  return t;
}
