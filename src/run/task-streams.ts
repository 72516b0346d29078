import { BehaviorSubject, Subject, type Observable } from 'rxjs';
import { TERMINAL_STATES, type TaskMachineEvent, type TaskStateName } from '../../machines/task.machine.js';
import type { TaskEvent, TaskSnapshot } from '../task-types.js';
import type { RunListener } from './run-registry.js';
import type { TaskRun } from './task-run.js';

/**
 * `session.events$` and `session.task$()` as a transition listener: a snapshot is built once per
 * change, and only when someone watches.
 */
export class TaskStreams implements RunListener {
  private readonly events = new Subject<TaskEvent>();
  private readonly subjects = new Map<string, BehaviorSubject<TaskSnapshot>>();
  readonly events$: Observable<TaskEvent> = this.events.asObservable();

  /** Snapshots of one live run: the current one first, each change, completes after the terminal one. */
  task$(run: TaskRun): Observable<TaskSnapshot> {
    let subject = this.subjects.get(run.uid);
    if (!subject) this.subjects.set(run.uid, (subject = new BehaviorSubject(run.snapshot())));
    return subject.asObservable();
  }

  transition(run: TaskRun, previous: TaskStateName, _event: TaskMachineEvent): void {
    let snapshot: TaskSnapshot | undefined;
    if (this.events.observed) {
      snapshot = run.snapshot();
      this.events.next({ uid: run.uid, state: run.state, previousState: previous, backend: run.backend, timestamp: Date.now(), task: snapshot });
    }
    if (this.subjects.size) {
      const subject = this.subjects.get(run.uid);
      if (subject) {
        subject.next(snapshot ?? run.snapshot());
        if (TERMINAL_STATES.has(run.state)) {
          subject.complete();
          this.subjects.delete(run.uid);
        }
      }
    }
  }

  complete(): void {
    for (const s of this.subjects.values()) s.complete();
    this.subjects.clear();
    this.events.complete();
  }
}
