import { discoverLocal } from '../../../actors/hpc/node-discovery.js';
import type { NodeInfo } from '../../hpc/resource-scheduler.js';

/** A node as discovery reports it (Dragon's `Node`). */
export type Node = NodeInfo;

/**
 * The machine the tasks run on (Dragon's `System`).
 *
 * @example
 * const { nodes } = await System.discover(hpcBackend);
 * const allGpus = nodes.flatMap((n) => n.gpus.map((g) => [n.hostname, g] as const));
 */
export const System = {
  /** Nodes of the given backend (its `nodes` option or its launcher's discovery), else this machine. */
  async discover(backend?: { discover(): Promise<NodeInfo[]> }): Promise<{ nodes: Node[] }> {
    return { nodes: backend ? await backend.discover() : await discoverLocal() };
  },
};
