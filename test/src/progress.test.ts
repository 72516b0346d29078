import { describe, expect, it } from 'vitest';
import { ComputeTask, ConcurrentExecutionBackend, Session, watchProgress } from '../../src/index.js';

function fakeStream(isTTY: boolean) {
  const writes: string[] = [];
  return { writes, stream: { isTTY, write: (s: string) => writes.push(s) } as unknown as NodeJS.WriteStream };
}

describe('watchProgress', () => {
  it('draws done/failed/running/queued, rate and ETA, ending with the final line', async () => {
    await using session = new Session({ backends: [new ConcurrentExecutionBackend({ executor: 'inline' })] });
    const { writes, stream } = fakeStream(true);
    const p = watchProgress(session, { stream, interval: 10 });
    const tasks = [
      ...Array.from({ length: 5 }, () => new ComputeTask({ function: async () => new Promise((r) => setTimeout(r, 50)) })),
      new ComputeTask({ function: () => { throw new Error('x'); } }),
    ];
    await session.submitTasks(tasks);
    await session.waitTasks(tasks);
    p.stop();
    expect(writes.length).toBeGreaterThan(1);
    expect(writes.at(-1)).toMatch(/^\r\x1b\[2K\[#{24}\] 6\/6 done 5 failed 1 canceled 0 running 0 queued 0 · \d+ tasks\/s · ETA 0\.0s\n$/);
    expect(writes.some((w) => /running [1-5]/.test(w))).toBe(true);
  });

  it('is quiet when the stream is not a TTY', async () => {
    await using session = new Session({ backends: [new ConcurrentExecutionBackend({ executor: 'inline' })] });
    const { writes, stream } = fakeStream(false);
    const p = watchProgress(session, { stream, interval: 5 });
    await new Promise((r) => setTimeout(r, 30));
    p[Symbol.dispose]();
    expect(writes).toEqual([]);
  });
});

describe('host safety', () => {
  it('an ignored failing future does not crash the host', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      await using session = new Session({ backends: [new ConcurrentExecutionBackend({ executor: 'inline' })] });
      const t = new ComputeTask({ function: () => { throw new Error('nobody listens'); } });
      await session.submitTasks([t]); // futures dropped on purpose
      await session.waitTasks([t]);
      await new Promise((r) => setTimeout(r, 20));
      expect(t.state).toBe('FAILED');
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
