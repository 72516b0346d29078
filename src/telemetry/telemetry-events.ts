import type { TaskStateName } from '../../machines/task.machine.js';

interface Base {
  /** ms since the epoch */
  t: number;
  session: string;
}

export type TaskLifecycleEventType =
  | 'task.created'
  | 'task.submitted'
  | 'task.queued'
  | 'task.started'
  | 'task.completed'
  | 'task.failed'
  | 'task.canceled'
  /** an attempt failed and the task waits its retry delay in QUEUED (in place of task.queued) */
  | 'task.retrying';

export interface TaskTelemetryEvent extends Base {
  type: TaskLifecycleEventType;
  uid: string;
  backend: string | null;
  /** set on terminal events */
  exitCode?: number | null;
  error?: string;
  /** where it ran, when a backend knows (HPC: node, GPU ids) */
  node?: string;
  gpus?: number[];
  /** task.submitted of a task with dependencies: their uids (each an edge dependency → this task) */
  dependencies?: string[];
  /** why the task does not move on: 'dependencies' on task.submitted while it waits, 'retry' on task.retrying */
  pendingReason?: 'dependencies' | 'retry';
  /**
   * The attempt (1, 2, …) the event belongs to, on task.started, task.retrying and the terminal events
   * of a task with `retries`; absent: attempt 1 (or none, for a task that never ran).
   */
  attempt?: number;
  /** task.retrying: ms before the next attempt may start (the chart's retry delay) */
  delayMs?: number;
  /** task.failed with a DependencyError: the direct dependency that failed or was canceled */
  dependencyUid?: string;
}

export interface SessionTelemetryEvent extends Base {
  type: 'session.started' | 'session.ended';
  /** on session.ended: terminal counts */
  counts?: Partial<Record<TaskStateName, number>>;
}

export interface BackendTelemetryEvent extends Base {
  type: 'backend.started' | 'backend.stopped';
  backend: string;
  kind: string;
}

/** One reading of the host, this process and the GPUs. */
export interface ResourceReading {
  /** host CPU use, 0–100 (all cores) */
  cpuPercent: number;
  /** this process */
  rssBytes: number;
  heapUsedBytes: number;
  /** host memory */
  memUsedBytes: number;
  memTotalBytes: number;
  gpus?: Array<{ index: number; utilizationPercent: number; memoryUsedMiB: number; memoryTotalMiB: number }>;
}

export interface ResourceSample extends Base, ResourceReading {
  type: 'resource.sample';
}

export interface TelemetryErrorEvent extends Base {
  type: 'telemetry.error';
  source: 'checkpoint' | 'spans' | 'metrics' | 'resources';
  message: string;
}

export type TelemetryEvent = TaskTelemetryEvent | SessionTelemetryEvent | BackendTelemetryEvent | ResourceSample | TelemetryErrorEvent;

/** Maps a task state to the lifecycle event that entering it emits. */
export const EVENT_FOR_STATE: Readonly<Record<TaskStateName, TaskLifecycleEventType>> = {
  NEW: 'task.created',
  SUBMITTED: 'task.submitted',
  QUEUED: 'task.queued',
  RUNNING: 'task.started',
  DONE: 'task.completed',
  FAILED: 'task.failed',
  CANCELED: 'task.canceled',
};
