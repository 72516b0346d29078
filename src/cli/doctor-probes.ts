// What this machine offers the runtime: each probe runs a tool's version command (or looks for a
// file) and never throws; a tool that is missing or does not answer in time is reported as such.
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { discoverSlurm, probeLocalGpus } from '../../actors/hpc/node-discovery.js';
import { assetPath } from '../../actors/assets.js';
import { nativeSpawnerCandidates as candidates } from '../../actors/process/native-build.mjs';
import { packageRoot } from './package-root.js';

export interface Probe {
  /** what was looked for: node, spawner, slurm, mpi, redis, dask, node-llama-cpp, nvidia-smi, gpus */
  name: string;
  found: boolean;
  /** the version it reported, when found */
  version: string | null;
  /** one line for people: where it is, what it means, or how to get it */
  detail: string;
}

const TIMEOUT_MS = 10_000;

/** A command's full path on PATH, or null. */
export function which(file: string, env: NodeJS.ProcessEnv = process.env): string | null {
  if (file.includes('/')) return isExecutable(file) ? file : null;
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, file))) return join(dir, file);
  }
  return null;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** Runs a command: its stdout+stderr, or the error's last line when it fails or hangs. */
function output(file: string, args: string[]): Promise<{ ok: boolean; text: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: TIMEOUT_MS, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) return resolve({ ok: true, text: `${stdout}${stderr}` });
      const last = `${stderr}`.trim().split('\n').at(-1) || err.message;
      resolve({ ok: false, text: last });
    });
  });
}

/** The first capture group that matched (or the whole match). */
function firstGroup(m: RegExpExecArray | null): string | null {
  return m ? (m.slice(1).find((g) => g !== undefined) ?? m[0]) : null;
}

/** A tool on PATH and the version it reports; found but failing says why. */
async function tool(name: string, file: string, args: string[], pattern: RegExp, missing: string): Promise<Probe> {
  const path = which(file);
  if (!path) return { name, found: false, version: null, detail: missing };
  const out = await output(path, args);
  if (!out.ok) return { name, found: true, version: null, detail: `${path}, but \`${file} ${args.join(' ')}\` failed: ${out.text}` };
  return { name, found: true, version: firstGroup(pattern.exec(out.text)), detail: path };
}

export function probeNode(): Probe {
  const major = Number(process.versions.node.split('.')[0]);
  return { name: 'node', found: true, version: process.versions.node, detail: major >= 20 ? `${process.execPath} (needs ≥ 20)` : `${process.execPath}: too old, rhapsody needs Node ≥ 20` };
}

/**
 * Where the runtime looks for a built native spawner, in order: `$RHAPSODY_NATIVE_SPAWNER`, then the
 * cache folders it builds into (`$RHAPSODY_CACHE_DIR`, `$XDG_CACHE_HOME/rhapsody` or
 * `~/.cache/rhapsody`, then the temp folder), for this version of its source.
 */
export function nativeSpawnerCandidates(env: NodeJS.ProcessEnv = process.env): string[] {
  return candidates(assetPath('process/native-spawner.c'), env);
}

export function probeSpawner(env: NodeJS.ProcessEnv = process.env): Probe {
  for (const path of nativeSpawnerCandidates(env)) {
    try {
      accessSync(path, constants.X_OK);
      return { name: 'spawner', found: true, version: null, detail: `native spawner: ${path}` };
    } catch {
      // not this one
    }
  }
  return { name: 'spawner', found: false, version: null, detail: 'node spawner (no native spawner built)' };
}

export const probeSlurm = () => tool('slurm', 'srun', ['--version'], /slurm(?:-wlm)?\s+(\S+)/i, 'srun not found: the slurm launcher and SlurmCluster need SLURM');
export const probeMpi = () => tool('mpi', 'mpirun', ['--version'], /\(Open MPI\)\s+(\S+)|Version:\s*(\S+)|mpirun\s.*?(\d+\.\d+\S*)/i, 'mpirun not found: the mpi launcher needs Open MPI or MPICH');
export const probeRedis = () =>
  tool('redis', 'redis-server', ['--version'], /v=(\S+)/, 'redis-server not found: DistributedExecutionBackend without `connection` needs it (apt-get install redis-server)');
export const probeNvidiaSmi = () => tool('nvidia-smi', 'nvidia-smi', ['--query-gpu=driver_version', '--format=csv,noheader'], /^\s*(\S+)/, 'nvidia-smi not found: no NVIDIA GPUs visible');

/** Dask: the first Python that imports `distributed` (python3 on PATH, then /usr/bin/python3). */
export async function probeDask(): Promise<Probe> {
  for (const python of ['python3', '/usr/bin/python3']) {
    const path = which(python);
    const out = path ? await output(path, ['-c', 'import distributed; print(distributed.__version__)']) : null;
    if (out?.ok) return { name: 'dask', found: true, version: firstGroup(/^\s*(\S+)/.exec(out.text)), detail: `distributed importable by ${path}` };
  }
  return { name: 'dask', found: false, version: null, detail: 'no python3 imports `distributed` (pip install distributed, or apt-get install python3-distributed)' };
}

/** node-llama-cpp, the embedded engine's optional peer: found as Node would (node_modules upwards). */
export function probeLlama(): Probe {
  let dir = packageRoot();
  for (;;) {
    const pkg = join(dir, 'node_modules', 'node-llama-cpp', 'package.json');
    if (existsSync(pkg)) {
      const version = (JSON.parse(readFileSync(pkg, 'utf8')) as { version?: string }).version ?? null;
      return { name: 'node-llama-cpp', found: true, version, detail: dirname(pkg) + (version === '3.21.1' ? '' : ' (rhapsody is tested with 3.21.1)') };
    }
    if (dirname(dir) === dir) break;
    dir = dirname(dir);
  }
  return { name: 'node-llama-cpp', found: false, version: null, detail: 'not installed: the embedded engine needs it (npm run setup:llama)' };
}

/** GPUs from nvidia-smi on this machine and, where SLURM answers, from its nodes' gres. */
export async function probeGpus(): Promise<Probe> {
  const [local, slurm] = await Promise.all([probeLocalGpus(), discoverSlurm().catch(() => null)]);
  const parts = [`this machine: ${local.length ? `GPU ${local.join(', ')}` : 'none'}`];
  if (slurm) parts.push(...slurm.map((n) => `${n.hostname} (SLURM): ${n.gpus.length ? `${n.gpus.length} GPU` : 'none'}, ${n.cpus} CPUs`));
  const count = local.length + (slurm ?? []).reduce((s, n) => s + n.gpus.length, 0);
  return { name: 'gpus', found: count > 0, version: null, detail: parts.join('; ') };
}

/** Every probe, in the order `rhapsody doctor` prints them. */
export async function doctor(): Promise<Probe[]> {
  const [slurm, mpi, redis, dask, nvidia, gpus] = await Promise.all([probeSlurm(), probeMpi(), probeRedis(), probeDask(), probeNvidiaSmi(), probeGpus()]);
  return [probeNode(), probeSpawner(), slurm, mpi, redis, dask, probeLlama(), nvidia, gpus];
}
