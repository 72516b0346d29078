import type { AnyActorRef, InspectionEvent, Observer } from 'xstate';

export type InspectOption = Observer<InspectionEvent> | ((event: InspectionEvent) => void);

/**
 * Fans inspection events out to the inspectors attached so far. A backend's actor exists before a
 * session attaches its inspector, so attaching replays that actor's creation and current snapshot.
 */
export class InspectHub {
  private readonly observers: Array<(e: InspectionEvent) => void> = [];
  readonly inspect = (event: InspectionEvent): void => {
    for (const o of this.observers) o(event);
  };

  get active(): boolean {
    return this.observers.length > 0;
  }

  attach(option: InspectOption, replay: AnyActorRef[] = []): void {
    const fn = toFunction(option);
    this.observers.push(fn);
    for (const actorRef of replay) {
      const rootId = actorRef.sessionId;
      fn({ type: '@xstate.actor', actorRef, rootId } as InspectionEvent);
      fn({
        type: '@xstate.snapshot',
        actorRef,
        rootId,
        snapshot: actorRef.getSnapshot(),
        event: { type: 'xstate.init' },
      } as InspectionEvent);
    }
  }
}

export function toFunction(option: InspectOption): (e: InspectionEvent) => void {
  if (typeof option === 'function') return option;
  return (e) => option.next?.(e);
}
