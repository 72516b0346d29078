import type { TaskStateName } from '../../machines/task.machine.js';
import { DependencyError } from '../errors.js';

/** What the tracker reads of a dependency when a dependent is added (a task has these fields). */
export interface DependencyRef {
  readonly uid: string;
  readonly state: TaskStateName;
  readonly exception: Error | null;
}

/** A dependent whose dependencies are now all DONE, or that must fail with `error` without running. */
export type DependencyOutcome = { uid: string; ready: true } | { uid: string; ready: false; error: DependencyError };

interface Node {
  readonly uid: string;
  /** dependencies not yet DONE */
  pending: number;
  /** nodes waiting for this one (null until one is added) */
  dependents: Node[] | null;
  /** settled (or failed through a dependency): lists that still hold it skip it */
  gone: boolean;
}

const NONE: readonly DependencyOutcome[] = Object.freeze([]);

function dependencyError(uid: string, dependencyUid: string, state: TaskStateName, cause: Error | null): DependencyError {
  const what = state === 'CANCELED' ? 'was canceled' : 'failed';
  return new DependencyError(`Task ${uid}: dependency ${dependencyUid} ${what}`, uid, dependencyUid, { cause: cause ?? undefined });
}

/**
 * Who waits for whom, by uid, for one session. O(1) per edge: `add` pushes one uid per dependency not
 * yet DONE, `settled` visits each dependent once. A task costs nothing here until it is a dependency or
 * waits for one, and everything about a task is dropped when it settles (its dependents have been told);
 * a waiting task is dropped when it settles too (CANCELED, FAILED), its node left in the lists of its
 * dependencies until they settle (marked gone, so a later task with the same uid is never confused with it). No I/O and no timers: the session calls it at submit and on each
 * terminal transition, and sends the chart events (DEPS_READY, DEPENDENCY_FAILED) it returns.
 */
export class DependencyTracker {
  private readonly nodes = new Map<string, Node>();
  private liveEdges = 0;

  /**
   * Registers that `uid` depends on `deps`. Returns 'ready' if they are all DONE, 'waiting' if some
   * are not terminal yet, or the DependencyError to fail it with if one FAILED or was CANCELED (then
   * nothing is registered for it).
   */
  add(uid: string, deps: readonly DependencyRef[]): 'ready' | 'waiting' | DependencyError {
    for (const d of deps) {
      if (d.state === 'FAILED' || d.state === 'CANCELED') return dependencyError(uid, d.uid, d.state, d.exception);
    }
    let self: Node | undefined;
    for (const d of deps) {
      if (d.state === 'DONE') continue;
      self ??= this.node(uid);
      (this.node(d.uid).dependents ??= []).push(self);
      self.pending++;
      this.liveEdges++;
    }
    return self === undefined || self.pending === 0 ? 'ready' : 'waiting';
  }

  /**
   * `uid` reached a terminal state. Returns the dependents that became ready (DONE), or, for FAILED or
   * CANCELED, every dependent that must now fail, transitively, each with a DependencyError whose
   * cause is its dependency's error, in breadth-first order (a dependent before its own dependents).
   */
  settled(uid: string, state: 'DONE' | 'FAILED' | 'CANCELED', error: Error | null): readonly DependencyOutcome[] {
    const node = this.nodes.get(uid);
    if (node === undefined) return NONE;
    this.drop(node);
    const dependents = node.dependents;
    if (dependents === null) return NONE;
    const out: DependencyOutcome[] = [];
    if (state === 'DONE') {
      for (const d of dependents) {
        if (!d.gone && --d.pending === 0) out.push({ uid: d.uid, ready: true });
      }
      return out;
    }
    // failure: each dependent fails, then its dependents with it as the cause, and so on
    const queue: Array<{ node: Node; state: TaskStateName; error: Error | null }> = [{ node, state, error }];
    for (let i = 0; i < queue.length; i++) {
      const up = queue[i]!;
      for (const d of up.node.dependents!) {
        if (d.gone) continue; // already settled, or already failed through another path
        this.drop(d);
        const err = dependencyError(d.uid, up.node.uid, up.state, up.error);
        out.push({ uid: d.uid, ready: false, error: err });
        if (d.dependents !== null) queue.push({ node: d, state: 'FAILED', error: err });
      }
    }
    return out;
  }

  /** Tasks the tracker holds anything about. */
  get size(): number {
    return this.nodes.size;
  }

  /** Edges whose dependency has not settled yet. */
  get edges(): number {
    return this.liveEdges;
  }

  /** Drops everything (the session is closed and every task settled). */
  clear(): void {
    this.nodes.clear();
    this.liveEdges = 0;
  }

  private node(uid: string): Node {
    let n = this.nodes.get(uid);
    if (n === undefined) this.nodes.set(uid, (n = { uid, pending: 0, dependents: null, gone: false }));
    return n;
  }

  /** Forgets a settled node: out of the map, its outgoing edges no longer live. */
  private drop(node: Node): void {
    node.gone = true;
    this.nodes.delete(node.uid);
    if (node.dependents !== null) this.liveEdges -= node.dependents.length;
  }
}
