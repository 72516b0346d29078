// Input at the edge: task extras never shadow the task, odd uids, session options, wait durations
// (issue 11 items 1, 3, 11; issue 12 §2).
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ComputeTask, ConcurrentExecutionBackend, Session, SessionError, TaskValidationError } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses } from '../helpers.js';

const mark = markProcesses();
afterEach(async () => {
  await expectNoProcessesLeft(mark);
});

describe('task extras', () => {
  it('an extra named like a task member is kept apart and breaks nothing', async () => {
    const t = new ComputeTask({ function: () => 5, toResult: 'x', inputFields: 1, kind: 'evil', priority: 3 } as never);
    expect(t.kind).toBe('compute');
    expect(typeof t.toResult).toBe('function');
    expect(t.extras).toEqual({ toResult: 'x', inputFields: 1, kind: 'evil', priority: 3 });
    expect((t as unknown as { priority: number }).priority).toBe(3);
    expect(() => t.toJSON()).not.toThrow();
    expect(t.toJSON().kind).toBe('compute');
    await using session = new Session({ backends: [new ConcurrentExecutionBackend({ executor: 'inline' })] });
    const [f] = await session.submitTasks([t]);
    expect((await f!).returnValue).toBe(5);
  });

  it('a uid that cannot become a string is a TaskValidationError', () => {
    for (const uid of [Object.create(null), [Symbol('s')]]) {
      expect(() => new ComputeTask({ function: () => 1, uid } as never)).toThrow(TaskValidationError);
    }
  });
});

describe('session options', () => {
  it('the Python positional habit and a lone backend are SessionErrors saying what to pass', async () => {
    const be = new ConcurrentExecutionBackend({ executor: 'inline' });
    expect(() => new Session([be] as never)).toThrow(/new Session\(\{ backends: \[backend\] \}\)/);
    expect(() => new Session([be] as never)).toThrow(SessionError);
    expect(() => new Session({ backends: be } as never)).toThrow(/"backends" must be an array/);
    await be.shutdown();
  });

  it('a session uid that is not path-safe is refused, so nothing is written outside workDir', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rh-uid-'));
    try {
      for (const uid of ['../x', 'a/b', '', '.'.repeat(200)]) {
        expect(() => new Session({ uid, workDir: join(dir, 'w') })).toThrow(SessionError);
      }
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('waitTasks durations must be non-negative numbers', async () => {
    await using session = new Session({ backends: [new ConcurrentExecutionBackend({ executor: 'inline' })] });
    const t = new ComputeTask({ function: () => 1 });
    await session.submitTasks([t]);
    await expect(session.waitTasks([t], { timeout: '30' as never })).rejects.toThrow(/"timeout" must be a non-negative number/);
    await expect(session.waitTasks([t], { timeout: -1 })).rejects.toThrow(SessionError);
    await expect(session.waitTasks([t], { timeout: 0 })).resolves.toEqual([t]);
  });
});
