import type { TaskStateName } from '../../machines/task.machine.js';
import type { ResourceSample, TelemetryEvent } from '../telemetry/telemetry-events.js';

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
}

export interface RunModel {
  session: string | null;
  start: number;
  end: number;
  tasks: ReportTask[];
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
};

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
        t = { uid: e.uid, backend: '', node: null, gpus: null, submitted: null, started: null, ended: null, state: 'NEW', exitCode: null, error: null };
        tasks.set(e.uid, t);
      }
      if (typeof e.backend === 'string') t.backend = e.backend;
      if (typeof e.node === 'string') t.node = e.node;
      if (Array.isArray(e.gpus)) t.gpus = e.gpus as number[];
      const state = STATE_OF[e.type];
      if (!state) continue;
      t.state = state;
      if (state === 'SUBMITTED') t.submitted = e.t;
      else if (state === 'RUNNING') t.started = e.t;
      else if (state === 'DONE' || state === 'FAILED' || state === 'CANCELED') {
        t.ended = e.t;
        t.exitCode = (e.exitCode as number | null | undefined) ?? null;
        t.error = (e.error as string | undefined) ?? null;
      }
    }
  }
  if (!Number.isFinite(start)) start = end = 0;
  return { session, start, end, tasks: [...tasks.values()], samples, badLines, ended };
}
