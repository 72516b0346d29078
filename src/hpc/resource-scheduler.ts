/** One node of the inventory. */
export interface NodeInfo {
  hostname: string;
  cpus: number;
  gpus: number[];
}

/** What one rank (process) asks for. */
export interface RankRequest {
  hostName?: string;
  /** exact GPU ids */
  gpuIds?: number[];
  /** any n GPUs */
  gpuCount?: number;
  /** exact CPU ids (held exclusively) */
  cpuIds?: number[];
}

export interface RankAllocation {
  hostname: string;
  gpus: number[];
  cpus: number[];
  /** the GPUs this rank took from the pool (a rank sharing a job-mate's GPU owns none) */
  owned: number[];
}

interface NodeState {
  info: NodeInfo;
  /** process slots left (cpus × oversubscribe) */
  slots: number;
  freeGpus: Set<number>;
  freeCpus: Set<number>;
}

/**
 * Accounting of process slots, GPUs and pinned CPUs per node. Pure: no I/O, no timers. A job's
 * ranks are allocated all at once or not at all (gang), first fit over the nodes in order.
 */
export class ResourceScheduler {
  private readonly nodes: NodeState[];

  constructor(
    readonly inventory: NodeInfo[],
    /** process slots per CPU (processes without pinned CPUs share cores) */
    readonly oversubscribe = 1,
  ) {
    this.nodes = inventory.map((info) => fresh(info, oversubscribe));
  }

  /** Why the job can never run on this inventory, or null if it can (when the nodes are idle). */
  unsatisfiable(ranks: RankRequest[]): string | null {
    for (const [i, r] of ranks.entries()) {
      if (r.hostName !== undefined && !this.inventory.some((n) => n.hostname === r.hostName)) {
        return `rank ${i}: unknown host "${r.hostName}" (nodes: ${this.inventory.map((n) => n.hostname).join(', ')})`;
      }
      const candidates = this.inventory.filter((n) => r.hostName === undefined || n.hostname === r.hostName);
      if (r.gpuIds) {
        const ok = candidates.some((n) => r.gpuIds!.every((g) => n.gpus.includes(g)));
        if (!ok) return `rank ${i}: GPU ${r.gpuIds.join(',')} does not exist on ${r.hostName ?? 'any node'} (GPUs: ${candidates.map((n) => `${n.hostname}=[${n.gpus.join(',')}]`).join(' ')})`;
      }
      if (r.gpuCount !== undefined && !candidates.some((n) => n.gpus.length >= r.gpuCount!)) {
        return `rank ${i}: asks for ${r.gpuCount} GPUs, the most a node has is ${Math.max(0, ...candidates.map((n) => n.gpus.length))}`;
      }
      if (r.cpuIds && !candidates.some((n) => r.cpuIds!.every((c) => c >= 0 && c < n.cpus))) {
        return `rank ${i}: CPU ${r.cpuIds.join(',')} does not exist on ${r.hostName ?? 'any node'}`;
      }
    }
    const empty = this.inventory.map((info) => fresh(info, this.oversubscribe));
    return place(empty, ranks) ? null : `the job's ${ranks.length} ranks do not fit on the cluster at once`;
  }

  /** Allocates every rank now, or nothing (null). */
  tryAllocate(ranks: RankRequest[]): RankAllocation[] | null {
    return place(this.nodes, ranks);
  }

  release(allocations: RankAllocation[]): void {
    for (const a of allocations) {
      const n = this.nodes.find((x) => x.info.hostname === a.hostname)!;
      n.slots++;
      for (const g of a.owned) n.freeGpus.add(g);
      for (const c of a.cpus) n.freeCpus.add(c);
    }
  }

  /** Free GPUs per node (for tests and inspection). */
  freeGpus(): Record<string, number[]> {
    return Object.fromEntries(this.nodes.map((n) => [n.info.hostname, [...n.freeGpus].sort((a, b) => a - b)]));
  }
}

function fresh(info: NodeInfo, oversubscribe: number): NodeState {
  return {
    info,
    slots: Math.max(1, Math.floor(info.cpus * oversubscribe)),
    freeGpus: new Set(info.gpus),
    freeCpus: new Set(Array.from({ length: info.cpus }, (_, i) => i)),
  };
}

/**
 * First-fit placement of all ranks on the given node states; mutates them only on success. GPUs are
 * exclusive per job: ranks of one job that pin the same GPU id share it (the user's guide puts two
 * processes on one policy), other jobs cannot use it until the job ends.
 */
function place(nodes: NodeState[], ranks: RankRequest[]): RankAllocation[] | null {
  const taken: Array<{ node: NodeState; gpus: number[]; cpus: number[]; fresh: number[] }> = [];
  const jobGpus = new Map<NodeState, Set<number>>();
  const undo = () => {
    for (const t of taken) {
      t.node.slots++;
      for (const g of t.fresh) t.node.freeGpus.add(g);
      for (const c of t.cpus) t.node.freeCpus.add(c);
    }
  };
  for (const r of ranks) {
    let placed = false;
    for (const node of nodes) {
      if (r.hostName !== undefined && node.info.hostname !== r.hostName) continue;
      if (node.slots < 1) continue;
      let gpus: number[] = [];
      const mine = jobGpus.get(node);
      let fresh: number[] = [];
      if (r.gpuIds) {
        if (!r.gpuIds.every((g) => node.freeGpus.has(g) || mine?.has(g))) continue;
        gpus = [...r.gpuIds];
        fresh = gpus.filter((g) => node.freeGpus.has(g));
      } else if (r.gpuCount) {
        if (node.freeGpus.size < r.gpuCount) continue;
        gpus = [...node.freeGpus].sort((a, b) => a - b).slice(0, r.gpuCount);
        fresh = gpus;
      }
      const cpus = r.cpuIds ?? [];
      if (!cpus.every((c) => node.freeCpus.has(c))) continue;
      node.slots--;
      for (const g of fresh) node.freeGpus.delete(g);
      for (const c of cpus) node.freeCpus.delete(c);
      if (fresh.length) jobGpus.set(node, new Set([...(mine ?? []), ...fresh]));
      taken.push({ node, gpus, cpus, fresh });
      placed = true;
      break;
    }
    if (!placed) {
      undo();
      return null;
    }
  }
  return taken.map((t) => ({ hostname: t.node.info.hostname, gpus: t.gpus, cpus: t.cpus, owned: t.fresh }));
}
