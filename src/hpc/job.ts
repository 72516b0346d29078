import type { ErrorData } from '../../actors/codec/wire-codec.mjs';
import type { RankFunction } from '../../actors/hpc/rank-runner.mjs';
import type { ProcessTemplate } from './process-template.js';

/** A function shipped to a rank process (declared with the rank runner's protocol). */
export type { RankFunction };

export type RankCommand = { kind: 'executable'; file: string; args: string[] } | { kind: 'function'; fn: RankFunction; args: unknown[] };

/** One process of a job, placed. */
export interface RankSpec {
  rank: number;
  localRank: number;
  worldSize: number;
  /** the node it was placed on */
  node: string;
  gpus: number[];
  cpus: number[];
  command: RankCommand;
  template: ProcessTemplate;
  /** the rank environment (RHAPSODY_*, RANK, …, CUDA_VISIBLE_DEVICES) over the template's env */
  env: Record<string, string>;
}

export interface JobSpec {
  uid: string;
  ranks: RankSpec[];
  /** where a rank's output past the in-memory cap is spilled (`<dir>/<uid>.rank<N>.stdout|.stderr`) */
  outputDir?: string;
}

export interface RankResult {
  rank: number;
  hostname: string;
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  /** function ranks */
  returnValue?: unknown;
  error?: ErrorData;
  /** why the launcher stopped it: 'canceled' | 'timeout' | 'peer-failed' */
  killed?: string | null;
  /** it failed for the launcher's reasons (spawner lost, SLURM controller or node), not its own */
  infrastructure?: boolean;
}

/** The environment every rank gets. */
export function rankEnv(r: { rank: number; localRank: number; worldSize: number; node: string; gpus: number[] }, master: { addr: string; port: number }): Record<string, string> {
  return {
    RHAPSODY_RANK: String(r.rank),
    RHAPSODY_LOCAL_RANK: String(r.localRank),
    RHAPSODY_WORLD_SIZE: String(r.worldSize),
    RHAPSODY_HOSTNAME: r.node,
    RANK: String(r.rank),
    LOCAL_RANK: String(r.localRank),
    WORLD_SIZE: String(r.worldSize),
    MASTER_ADDR: master.addr,
    MASTER_PORT: String(master.port),
    CUDA_VISIBLE_DEVICES: r.gpus.join(','),
  };
}
