// The process that owns a DistributedExecutionBackend dies by SIGKILL mid-run: its private
// redis-server and its local workers must not outlive it.
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { expectNoProcessesLeft, markProcesses, processesWithMark } from '../helpers.js';

const mark = markProcesses();
afterAll(() => expectNoProcessesLeft(mark, 15_000));

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

const host = `
import { ComputeTask, DistributedExecutionBackend, Session } from ${JSON.stringify(fileURLToPath(new URL('../../src/index.js', import.meta.url)))};
const backend = await DistributedExecutionBackend.create();
const s = new Session({ backends: [backend] });
await s.submitTasks([new ComputeTask({ executable: '/bin/sleep', arguments: ['30'] })]);
console.log('running');
`;

describe('DistributedExecutionBackend when its host dies', () => {
  it('a SIGKILLed host leaves no redis-server and no worker behind', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', host], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => d.toString().includes('running') && resolve());
      child.once('exit', (code) => reject(new Error(`host exited early (${code})`)));
    });
    const before = processesWithMark(mark).map((p) => p.cmd);
    // redis-server rewrites its title over its environment, so it is found through its guard and port
    const guard = before.find((c) => c.startsWith('sh -c redis-server'))!;
    expect(guard).toBeDefined();
    const port = Number(/--port (\d+)/.exec(guard)![1]);
    expect(await accepts(port)).toBe(true);
    expect(before.filter((c) => / worker /.test(c))).toHaveLength(2);
    child.kill('SIGKILL');
    await expectNoProcessesLeft(mark, 15_000);
    expect(await accepts(port)).toBe(false);
  }, 60_000);
});
