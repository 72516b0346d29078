import type { TaskStateName } from '../../machines/task.machine.js';
import type { ResourceSample, TelemetryEvent } from '../telemetry/telemetry-events.js';

/** One run of a task. Times in ms since the epoch. */
export interface ReportAttempt {
  /** 1, 2, … */
  n: number;
  started: number;
  /** null: still running when the checkpoint ends */
  ended: number | null;
  /**
   * how the attempt ended: the task's terminal state, `'retried'` (it failed and the task waited its
   * retry delay), `'requeued'` (handed back without a retry event: a dead worker's task, or a
   * checkpoint older than `task.retrying`), or null (still running)
   */
  outcome: 'DONE' | 'FAILED' | 'CANCELED' | 'retried' | 'requeued' | null;
  error: string | null;
  /** `'retried'`: the delay before the next attempt (ms) */
  delayMs: number | null;
}

/** An edge of the task graph: `to` depends on `from`. */
export interface ReportEdge {
  from: string;
  to: string;
}

export interface ReportTask {
  uid: string;
  backend: string;
  node: string | null;
  gpus: number[] | null;
  submitted: number | null;
  started: number | null;
  ended: number | null;
  state: TaskStateName;
  exitCode: number | null;
  error: string | null;
  /** first task.queued: for a task that waited for its dependencies, when they released it */
  queued: number | null;
  /** uids of its dependencies (empty: none, or a checkpoint that does not record them) */
  dependencies: string[];
  /** submitted with dependencies not yet DONE (it waited in SUBMITTED) */
  waited: boolean;
  /** its runs, in order (empty: it never ran) */
  attempts: ReportAttempt[];
  /** FAILED with a DependencyError: the direct dependency that failed or was canceled */
  dependencyUid: string | null;
}

export interface RunModel {
  session: string | null;
  start: number;
  end: number;
  tasks: ReportTask[];
  /** every dependency → dependent edge recorded, in submit order */
  edges: ReportEdge[];
  samples: ResourceSample[];
  /** lines that were not valid JSON (a crashed run's last line) */
  badLines: number;
  ended: boolean;
}

const STATE_OF: Record<string, TaskStateName> = {
  'task.created': 'NEW',
  'task.submitted': 'SUBMITTED',
  'task.queued': 'QUEUED',
  'task.started': 'RUNNING',
  'task.completed': 'DONE',
  'task.failed': 'FAILED',
  'task.canceled': 'CANCELED',
  'task.retrying': 'QUEUED',
};

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/**
 * Reads a telemetry checkpoint (JSONL). Tolerates a truncated or partly corrupt file.
 *
 * @example
 * import { parseRun } from 'rhapsody/report';
 * const run = parseRun(await readFile('run.jsonl', 'utf8'));
 * console.log(run.tasks.length, run.badLines, run.ended);
 */
export function parseRun(text: string): RunModel {
  const tasks = new Map<string, ReportTask>();
  const samples: ResourceSample[] = [];
  let session: string | null = null;
  let start = Infinity;
  let end = -Infinity;
  let badLines = 0;
  let ended = false;
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    let e: TelemetryEvent & Record<string, unknown>;
    try {
      e = JSON.parse(line);
    } catch {
      badLines++;
      continue;
    }
    if (typeof e?.t !== 'number' || typeof e.type !== 'string') {
      badLines++;
      continue;
    }
    start = Math.min(start, e.t);
    end = Math.max(end, e.t);
    if (e.type === 'session.started') session = e.session;
    else if (e.type === 'session.ended') ended = true;
    else if (e.type === 'resource.sample') samples.push(e as ResourceSample);
    else if (e.type.startsWith('task.') && typeof e.uid === 'string') {
      let t = tasks.get(e.uid);
      if (!t) {
        t = {
          uid: e.uid,
          backend: '',
          node: null,
          gpus: null,
          submitted: null,
          started: null,
          ended: null,
          state: 'NEW',
          exitCode: null,
          error: null,
          queued: null,
          dependencies: [],
          waited: false,
          attempts: [],
          dependencyUid: null,
        };
        tasks.set(e.uid, t);
      }
      if (typeof e.backend === 'string') t.backend = e.backend;
      if (typeof e.node === 'string') t.node = e.node;
      if (Array.isArray(e.gpus)) t.gpus = e.gpus as number[];
      const state = STATE_OF[e.type];
      if (!state) continue;
      t.state = state;
      applyEvent(t, e, state);
    }
  }
  if (!Number.isFinite(start)) start = end = 0;
  const all = [...tasks.values()];
  const edges: ReportEdge[] = [];
  for (const t of all) for (const from of t.dependencies) edges.push({ from, to: t.uid });
  return { session, start, end, tasks: all, edges, samples, badLines, ended };
}

/** What one task event says about its task: times, edges, attempts, the failed dependency. */
function applyEvent(t: ReportTask, e: Record<string, unknown> & { t: number; type: string }, state: TaskStateName): void {
  const last = t.attempts.at(-1);
  const open = last !== undefined && last.outcome === null;
  if (state === 'SUBMITTED') {
    t.submitted = e.t;
    if (Array.isArray(e.dependencies)) t.dependencies = e.dependencies.filter((d): d is string => typeof d === 'string');
    if (e.pendingReason === 'dependencies') t.waited = true;
  } else if (state === 'QUEUED') {
    t.queued ??= e.t;
    if (open) {
      // the running attempt was handed back: a retry (task.retrying), or a requeue
      last.ended = e.t;
      last.outcome = e.type === 'task.retrying' ? 'retried' : 'requeued';
      last.error = str(e.error);
      last.delayMs = num(e.delayMs);
    }
  } else if (state === 'RUNNING') {
    t.started = e.t;
    if (open) {
      last.ended = e.t;
      last.outcome = 'requeued';
    }
    t.attempts.push({ n: num(e.attempt) ?? t.attempts.length + 1, started: e.t, ended: null, outcome: null, error: null, delayMs: null });
  } else if (state === 'DONE' || state === 'FAILED' || state === 'CANCELED') {
    t.ended = e.t;
    t.exitCode = num(e.exitCode);
    t.error = str(e.error);
    t.dependencyUid = str(e.dependencyUid);
    if (open) {
      last.ended = e.t;
      last.outcome = state;
      last.error = t.error;
    }
  }
}
