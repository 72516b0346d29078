import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createWebSocketInspector } from '@statelyai/inspect';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ComputeTask, ConcurrentExecutionBackend, Session, startInspectorServer } from '../../src/index.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

describe('Stately inspector end to end', () => {
  it('a session connected with createWebSocketInspector reaches a viewer through the local relay', async () => {
    const server = await startInspectorServer({ port: 0 });
    expect(server.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
    const viewer = new WebSocket(server.url);
    const received: Array<{ type: string; sessionId: string; definition?: string; event?: { type: string }; snapshot?: { value?: unknown } }> = [];
    viewer.on('message', (d) => received.push(JSON.parse(d.toString())));
    await new Promise((r) => viewer.once('open', r));

    // the documented one-liner
    const inspector = createWebSocketInspector({ url: server.url });
    const session = new Session({ backends: [new ConcurrentExecutionBackend({ executor: 'inline' })], inspect: inspector.inspect });
    const t = new ComputeTask({ uid: 'ws-task', function: () => 42 });
    await session.submitTasks([t]);
    await t;
    await session.close();

    const until = Date.now() + 5000;
    const has = (pred: (e: (typeof received)[number]) => boolean) => received.some(pred);
    const done = () => has((e) => e.type === '@xstate.snapshot' && e.snapshot?.value === 'DONE') && has((e) => e.type === '@xstate.snapshot' && e.snapshot?.value === 'CLOSED');
    while (!done() && Date.now() < until) await new Promise((r) => setTimeout(r, 25));
    inspector.stop();
    viewer.close();
    await server.close();

    const actors = received.filter((e) => e.type === '@xstate.actor').map((e) => e.definition ?? '');
    for (const id of ['session', 'backend', 'task'])
      expect(
        actors.some((d) => d.includes(`"id":"${id}"`)),
        id,
      ).toBe(true);
    expect(received.filter((e) => e.type === '@xstate.event').map((e) => e.event?.type)).toEqual(expect.arrayContaining(['SUBMIT', 'COMPLETE', 'SHUTDOWN', 'CLOSE']));
    expect(done()).toBe(true);
  }, 20_000);

  it('`rhapsody machines` prints the chart definitions as JSON', async () => {
    const { stdout } = await promisify(execFile)('npx', ['tsx', 'src/cli.ts', 'machines'], { cwd: root });
    const defs = JSON.parse(stdout);
    expect(Object.keys(defs).sort()).toEqual(['backend', 'inferenceRequest', 'modelService', 'processGroup', 'rank', 'session', 'task', 'wait']);
    expect(Object.keys(defs.task.states)).toEqual(['NEW', 'SUBMITTED', 'QUEUED', 'RUNNING', 'DONE', 'FAILED', 'CANCELED']);
    expect(defs.backend.states.RUNNING.states).toHaveProperty('draining');
  }, 30_000);
});
