import { Observable } from 'rxjs';
import type { AnyActorRef, SnapshotFrom } from 'xstate';

/**
 * An actor's snapshots as an Observable that replays the current snapshot to each new subscriber
 * (`from(actor)` does not) and completes when the actor reaches a final state or stops.
 */
export function actorState$<A extends AnyActorRef, T>(actor: A, project: (s: SnapshotFrom<A>) => T): Observable<T> {
  return new Observable<T>((subscriber) => {
    const current = actor.getSnapshot() as SnapshotFrom<A>;
    subscriber.next(project(current));
    if ((current as { status?: string }).status !== 'active') {
      subscriber.complete();
      return;
    }
    const sub = actor.subscribe({
      next: (s: SnapshotFrom<A>) => subscriber.next(project(s)),
      error: (e: unknown) => subscriber.error(e),
      complete: () => subscriber.complete(),
    });
    return () => sub.unsubscribe();
  });
}
