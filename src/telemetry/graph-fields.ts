import type { TaskStateName } from '../../machines/task.machine.js';
import { retryDelayMs } from '../../machines/task-guards.js';
import { DependencyError } from '../errors.js';
import type { TaskRun } from '../run/task-run.js';
import { EVENT_FOR_STATE, type TaskLifecycleEventType, type TaskTelemetryEvent } from './telemetry-events.js';

/** What a lifecycle event of a task with dependencies or retries carries beyond the plain event. */
export interface GraphFields {
  type: TaskLifecycleEventType;
  fields: Pick<TaskTelemetryEvent, 'dependencies' | 'pendingReason' | 'attempt' | 'delayMs' | 'dependencyUid' | 'error'>;
  /** the same fields as JSON members, each `,"key":value` (appended to a checkpoint line) */
  json: string;
}

/**
 * The graph and retry fields of the event for a run entering `state`; null when there are none. Only
 * called for runs with dependencies or a retry policy, so a plain task's event costs nothing more.
 */
export function graphFields(run: TaskRun, state: TaskStateName): GraphFields | null {
  const fields: GraphFields['fields'] = {};
  let type = EVENT_FOR_STATE[state];
  if (state === 'SUBMITTED') {
    if (run.dependencyUids !== null) fields.dependencies = [...run.dependencyUids];
    if (run.pendingReason === 'dependencies') fields.pendingReason = 'dependencies';
  } else if (state === 'QUEUED' && run.pendingReason === 'retry') {
    type = 'task.retrying';
    fields.attempt = run.attempt;
    fields.pendingReason = 'retry';
    fields.delayMs = retryDelayMs(run.retries, run.attempt);
    if (run.exception) fields.error = run.exception.message;
  } else if (state !== 'NEW' && state !== 'QUEUED') {
    if (run.retries !== null && run.attempt > 0) fields.attempt = run.attempt;
    if (state === 'FAILED' && run.exception instanceof DependencyError) fields.dependencyUid = run.exception.dependencyUid;
  }
  let json = '';
  for (const key in fields) json += `,"${key}":${JSON.stringify(fields[key as keyof typeof fields])}`;
  return json === '' && type === EVENT_FOR_STATE[state] ? null : { type, fields, json };
}
