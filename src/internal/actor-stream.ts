import { Observable } from 'rxjs';
import type { AnyActorRef, SnapshotFrom } from 'xstate';

/**
 * An actor's snapshots as an Observable that replays the current snapshot to each new subscriber
 * (`from(actor)` does not) and completes when the actor reaches a final state or stops.
 */
export function actorState$<A extends AnyActorRef, T>(actor: A, project: (s: SnapshotFrom<A>) => T): Observable<T> {
  return new Observable<T>((subscriber) => {
    const current = actor.getSnapshot() as SnapshotFrom<A>;
    let last = project(current);
    subscriber.next(last);
    if ((current as { status?: string }).status !== 'active') {
      subscriber.complete();
      return;
    }
    const sub = actor.subscribe({
      next: (s: SnapshotFrom<A>) => {
        const next = project(s);
        if (shallowEqual(last, next)) return; // an event that changed nothing
        last = next;
        subscriber.next(next);
      },
      error: (e: unknown) => subscriber.error(e),
      complete: () => subscriber.complete(),
    });
    return () => sub.unsubscribe();
  });
}

function shallowEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => (a as Record<string, unknown>)[k] === (b as Record<string, unknown>)[k]);
}
