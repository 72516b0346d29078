// `rhapsody doctor` reports what this machine really has: each probe is checked against the
// machine itself (the tool on PATH, its own version output), not against a fixed expectation.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildNativeSpawner } from '../../actors/process/native-build.mjs';
import { nativeSpawnerCandidates, probeSpawner, type Probe } from '../../src/cli/doctor-probes.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'rhapsody-doctor-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function doctor(args: string[], env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync(join(root, 'node_modules/.bin/tsx'), [join(root, 'src/cli.ts'), 'doctor', ...args], { cwd: dir, env, encoding: 'utf8', timeout: 60_000 });
}

const onPath = (file: string) => spawnSync('sh', ['-c', `command -v ${file}`]).status === 0;
const versionOutput = (file: string, ...args: string[]) => spawnSync(file, args, { encoding: 'utf8', env: { ...process.env, SLURM_CONF: '/tmp/rhapsody-slurm/etc/slurm.conf' } });

describe('rhapsody doctor', { timeout: 120_000 }, () => {
  // empty cache folders: no native spawner built there
  const env = { ...process.env, RHAPSODY_NATIVE_SPAWNER: '', RHAPSODY_CACHE_DIR: join(dir, 'cache'), XDG_CACHE_HOME: join(dir, 'xdg'), TMPDIR: join(dir, 'tmp') };
  let report: { rhapsody: string; probes: Probe[] };
  beforeAll(() => {
    report = JSON.parse(doctor(['--json'], env)) as typeof report;
  }, 120_000);
  const probe = (name: string) => report.probes.find((p) => p.name === name)!;

  it('reports every probe, the Node running it, and the tools found on PATH with their versions', () => {
    expect(report.probes.map((p) => p.name)).toEqual(['node', 'spawner', 'slurm', 'mpi', 'redis', 'dask', 'node-llama-cpp', 'nvidia-smi', 'gpus']);
    expect(probe('node')).toMatchObject({ found: true, version: process.versions.node });
    for (const [name, file] of [
      ['slurm', 'srun'],
      ['mpi', 'mpirun'],
      ['redis', 'redis-server'],
      ['nvidia-smi', 'nvidia-smi'],
    ] as const) {
      expect({ name, found: probe(name).found }).toEqual({ name, found: onPath(file) });
    }
    if (onPath('redis-server')) expect(versionOutput('redis-server', '--version').stdout).toContain(`v=${probe('redis').version}`);
    if (onPath('mpirun')) expect(versionOutput('mpirun', '--version').stdout).toContain(probe('mpi').version);
    const dask = spawnSync('/usr/bin/python3', ['-c', 'import distributed; print(distributed.__version__)'], { encoding: 'utf8' });
    expect(probe('dask').found).toBe(dask.status === 0);
    if (dask.status === 0) expect(probe('dask').version).toBe(dask.stdout.trim());
    const llama = spawnSync(process.execPath, ['-e', "console.log(require('./node_modules/node-llama-cpp/package.json').version)"], { cwd: root, encoding: 'utf8' });
    expect(probe('node-llama-cpp')).toMatchObject(llama.status === 0 ? { found: true, version: llama.stdout.trim() } : { found: false });
  });

  it('SLURM answering with its config: the version, and the GPUs of its nodes', () => {
    const conf = '/tmp/rhapsody-slurm/etc/slurm.conf';
    const withSlurm = JSON.parse(doctor(['--json'], { ...env, SLURM_CONF: conf })) as { probes: Probe[] };
    const slurm = withSlurm.probes.find((p) => p.name === 'slurm')!;
    const own = versionOutput('srun', '--version');
    expect(slurm).toMatchObject({ found: true, version: own.stdout.trim().split(' ')[1] });
    const nodes = execFileSync('scontrol', ['show', 'nodes', '-o'], { env: { ...process.env, SLURM_CONF: conf }, encoding: 'utf8' })
      .trim()
      .split('\n');
    const gpus = withSlurm.probes.find((p) => p.name === 'gpus')!;
    for (const line of nodes) {
      const name = /NodeName=(\S+)/.exec(line)![1];
      const count = /Gres=gpu:(\d+)/.exec(line)?.[1];
      expect(gpus.detail).toContain(`${name} (SLURM): ${count ? `${count} GPU` : 'none'}`);
    }
  });

  it('the spawner: a native one where built, else the node spawner', () => {
    expect(probe('spawner')).toMatchObject({ found: false, detail: 'node spawner (no native spawner built)' });
    const fake = join(dir, 'native-spawner');
    writeFileSync(fake, '#!/bin/sh\n');
    chmodSync(fake, 0o755);
    expect(nativeSpawnerCandidates({ RHAPSODY_NATIVE_SPAWNER: fake })[0]).toBe(fake);
    expect(probeSpawner({ RHAPSODY_NATIVE_SPAWNER: fake })).toMatchObject({ found: true, detail: `native spawner: ${fake}` });
    const text = doctor([], { ...process.env, RHAPSODY_NATIVE_SPAWNER: fake });
    expect(text).toMatch(new RegExp(`^  spawner +native · native spawner: ${fake}$`, 'm'));
    expect(text).toMatch(/^ {2}node +found /m);
  });

  it('the spawner the runtime builds is the one the doctor finds', async () => {
    const built = await buildNativeSpawner();
    if (built.path === null) throw new Error(`this machine builds the native spawner (cc): ${built.reason}`);
    expect(probeSpawner({ ...process.env, RHAPSODY_NATIVE_SPAWNER: '' })).toMatchObject({ found: true, detail: `native spawner: ${built.path}` });
  });
});
