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
      new ComputeTask({
        function: () => {
          throw new Error('x');
        },
      }),
    ];
    await session.submitTasks(tasks);
    await session.waitTasks(tasks);
    p.stop();
    expect(writes.length).toBeGreaterThan(1);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the terminal escape is what is tested
    expect(writes.at(-1)).toMatch(/^\r\x1b\[2K\[#{24}\] 6\/6 done 5 failed 1 canceled 0 running 0 queued 0 · \d+ tasks\/s · ETA 0\.0s\n$/);
    expect(writes.some((w) => /running [1-5]/.test(w))).toBe(true);
  });

  it('prints plain lines (no escapes, one per change) when the stream is not a TTY', async () => {
    await using session = new Session({ backends: [new ConcurrentExecutionBackend({ executor: 'inline' })] });
    const { writes, stream } = fakeStream(false);
    const p = watchProgress(session, { stream, plainInterval: 10 });
    await new Promise((r) => setTimeout(r, 40)); // nothing changes: one line, not one per tick
    expect(writes).toHaveLength(1);
    const tasks = Array.from({ length: 4 }, () => new ComputeTask({ function: async () => new Promise((r) => setTimeout(r, 30)) }));
    await session.submitTasks(tasks);
    await session.waitTasks(tasks);
    p[Symbol.dispose]();
    expect(writes.length).toBeGreaterThan(1);
    for (const w of writes) expect(w).toMatch(/^\[[#-]{24}\] \d+\/\d+ done \d+ failed 0 canceled 0 running \d+ queued \d+ · \d+ tasks\/s( · ETA [\d.]+s)?\n$/);
    expect(writes.at(-1)).toMatch(/^\[#{24}\] 4\/4 done 4 /);
    const counts = writes.map((w) => w.slice(0, w.indexOf(' · ')));
    expect(new Set(counts).size).toBe(counts.length);
  });
});

describe('host safety', () => {
  it('an ignored failing future does not crash the host', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', onUnhandled);
    try {
      await using session = new Session({ backends: [new ConcurrentExecutionBackend({ executor: 'inline' })] });
      const t = new ComputeTask({
        function: () => {
          throw new Error('nobody listens');
        },
      });
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
