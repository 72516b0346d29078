/**
 * Where a process may run (Dragon's Policy.Placement).
 *
 * @example
 * new Policy({ placement: Placement.ANYWHERE, gpus: 2 }) // any node with 2 free GPUs
 * new Policy({ placement: Placement.HOST_NAME, hostName: 'node-1' }) // same as Policy.Placement.HOST_NAME
 */
export enum Placement {
  ANYWHERE = 'ANYWHERE',
  HOST_NAME = 'HOST_NAME',
}

export interface PolicyOptions {
  placement?: Placement;
  /** the node, with `Placement.HOST_NAME` */
  hostName?: string;
  /** exact GPU ids on the node, held exclusively while the process runs */
  gpuAffinity?: number[];
  /** or: any n free GPUs on the chosen node */
  gpus?: number;
  /** CPU ids to pin to (advisory on launchers that cannot pin) */
  cpuAffinity?: number[];
}

/**
 * Placement and resources of one process (Dragon's `Policy`).
 *
 * @example
 * new Policy({ placement: Policy.Placement.HOST_NAME, hostName: 'node-1', gpuAffinity: [2] })
 */
export class Policy {
  static readonly Placement = Placement;
  readonly placement: Placement;
  readonly hostName: string | undefined;
  readonly gpuAffinity: number[] | undefined;
  readonly gpus: number | undefined;
  readonly cpuAffinity: number[] | undefined;

  constructor(options: PolicyOptions = {}) {
    this.placement = options.placement ?? (options.hostName ? Placement.HOST_NAME : Placement.ANYWHERE);
    this.hostName = options.hostName;
    this.gpuAffinity = options.gpuAffinity ? [...options.gpuAffinity] : undefined;
    this.gpus = options.gpus;
    this.cpuAffinity = options.cpuAffinity ? [...options.cpuAffinity] : undefined;
  }

  toJSON(): PolicyOptions {
    return { placement: this.placement, hostName: this.hostName, gpuAffinity: this.gpuAffinity, gpus: this.gpus, cpuAffinity: this.cpuAffinity };
  }
}
