// The request bookkeeping both spawners share (actors/process/spawner-host.ts), through each real
// transport: load, kill, close; and, with the native transport (whose helper binary can be swapped),
// a helper that cannot start or that exits before it is ready.
import { afterAll, describe, expect, it } from 'vitest';
import { assetPath } from '../../actors/assets.js';
import { buildNativeSpawner } from '../../actors/process/native-build.mjs';
import { NativeSpawner } from '../../actors/process/native-spawner.js';
import { ProcessSpawner } from '../../actors/process/process-spawner.js';
import type { KillFn, Spawner } from '../../actors/process/spawner-host.js';
import { BackendError } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses, processesWithMark } from '../helpers.js';

const mark = markProcesses();
afterAll(() => expectNoProcessesLeft(mark));

const sleepFor = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function make(kind: 'native' | 'node'): Promise<Spawner> {
  if (kind === 'node') return new ProcessSpawner();
  const built = await buildNativeSpawner(assetPath('process/native-spawner.c'));
  if (!built.path) throw new Error(`the native spawner does not build here: ${built.reason}`);
  return new NativeSpawner(built.path);
}

describe.each(['native', 'node'] as const)('spawner host (%s transport)', (kind) => {
  it('counts requests in flight, kills one on request, and refuses requests once closed', async () => {
    const s = await make(kind);
    const tag = `sleep ${40 + Math.floor(Math.random() * 9000) / 1000}`;
    let kill: KillFn | null = null;
    const running = s.run({ file: '/bin/sh', args: ['-c', `${tag}; :`] }, (k) => (kill = k));
    const quick = s.run({ file: '/bin/echo', args: ['hi'] });
    expect(s.load).toBe(2);
    expect((await quick).stdout).toBe('hi\n');
    while (!processesWithMark(mark).some((p) => p.cmd === tag)) await sleepFor(20);
    expect(s.load).toBe(1);
    kill!('canceled');
    const r = await running;
    expect([r.killed, r.exitCode, s.load]).toEqual(['canceled', null, 0]);
    const pid = s.pid;
    expect(pid).toBeGreaterThan(0);
    await s.close();
    await expect(s.run({ file: '/bin/true', args: [] })).rejects.toThrow(BackendError);
    await expect(s.run({ file: '/bin/true', args: [] })).rejects.toThrow('the process spawner is closed');
    expect(processesWithMark(mark).filter((p) => p.pid === pid || p.cmd === tag)).toEqual([]);
  });
});

describe('spawner host: a helper that does not come up', () => {
  it('a helper binary that cannot be started: the request rejects with the OS error, nothing in flight', async () => {
    const s = new NativeSpawner('/no/such/native-spawner-helper');
    const err = await s.run({ file: '/bin/true', args: [] }).catch((e: Error & { code?: string }) => e);
    expect([(err as { code?: string }).code, s.load, s.pid]).toEqual(['ENOENT', 0, undefined]);
    await s.close();
  });

  it('a helper that exits before it is ready: the request rejects with a BackendError naming it', async () => {
    const s = new NativeSpawner('/bin/true');
    const err = await s.run({ file: '/bin/echo', args: ['never'] }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect((err as Error).message).toBe('native spawner exited before it was ready (0)');
    expect(s.load).toBe(0);
    await s.close();
  });
});
