// Canceling (or timing out) a function on the `processes` executor kills its worker's whole process
// group, so what the function started dies with it (issue 11 item 6).
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ComputeTask, ConcurrentExecutionBackend, Session } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses, processesWithMark } from '../helpers.js';

const mark = markProcesses();
afterEach(async () => {
  await expectNoProcessesLeft(mark);
});

const fixture = fileURLToPath(new URL('../fixtures/subprocess-starter.mjs', import.meta.url));
/** Starts a long-lived `node -e … <tag>` (it inherits the test mark) and never returns. */
const startsASleeper = { module: fixture, export: 'sleepForever' };

const isSleeper = (cmd: string, tag: string) => cmd.includes('setTimeout') && cmd.endsWith(` ${tag}`);

async function sleeperRunning(tag: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (processesWithMark(mark).some((p) => isSleeper(p.cmd, tag))) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the function's subprocess ${tag} never started`);
}

const gone = async (tag: string) => {
  for (let i = 0; i < 100 && processesWithMark(mark).some((p) => isSleeper(p.cmd, tag)); i++) await new Promise((r) => setTimeout(r, 30));
  return !processesWithMark(mark).some((p) => isSleeper(p.cmd, tag));
};

describe('processes executor: the worker process group', { timeout: 90_000 }, () => {
  it('cancel kills the subprocesses the function started, while the session stays open', async () => {
    await using s = new Session({ backends: [new ConcurrentExecutionBackend({ executor: 'processes', maxWorkers: 1 })] });
    const t = new ComputeTask({ function: startsASleeper, args: ['cancel-me'] });
    await s.submitTasks([t]);
    await sleeperRunning('cancel-me');
    expect(await t.cancel()).toBe(true);
    expect(t.state).toBe('CANCELED');
    expect(await gone('cancel-me')).toBe(true);
    // the pool replaced the worker and still runs functions
    const ok = new ComputeTask({ function: () => 7 });
    await s.submitTasks([ok]);
    expect((await ok).returnValue).toBe(7);
  });

  it('a timeout kills them too', async () => {
    await using s = new Session({ backends: [new ConcurrentExecutionBackend({ executor: 'processes', maxWorkers: 1 })] });
    const t = new ComputeTask({ function: startsASleeper, args: ['time-me-out'], taskBackendSpecificKwargs: { timeout: 1500 } });
    await s.submitTasks([t]);
    await sleeperRunning('time-me-out');
    await t.then(
      () => undefined,
      () => undefined,
    );
    expect(t.state).toBe('FAILED');
    expect(await gone('time-me-out')).toBe(true);
  });

  it('a worker that exits by itself takes its subprocesses along', async () => {
    await using s = new Session({ backends: [new ConcurrentExecutionBackend({ executor: 'processes', maxWorkers: 1 })] });
    const t = new ComputeTask({
      function: { module: fixture, export: 'spawnThenExit' },
      args: ['exit-early'],
    });
    await s.submitTasks([t]);
    await sleeperRunning('exit-early');
    await t.then(
      () => undefined,
      () => undefined,
    );
    expect(t.state).toBe('FAILED');
    expect(t.exception?.message).toMatch(/exited with code 3/);
    expect(await gone('exit-early')).toBe(true);
  });
});
