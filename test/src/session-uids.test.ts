// Duplicate uids at submit: generated uids skip the lookup (unique by construction), so the cases
// that can still collide are checked here: a task given twice, a user's uid that looks generated.
import { describe, expect, it } from 'vitest';
import { ComputeTask, ConcurrentExecutionBackend, Session, SessionError } from '../../src/index.js';

const inlineSession = async () => new Session({ backends: [await ConcurrentExecutionBackend.create({ executor: 'inline' })] });

describe('duplicate uids', () => {
  it('the same task twice in a batch is refused and nothing is submitted', async () => {
    await using session = await inlineSession();
    const t = new ComputeTask({ function: () => 1 });
    const other = new ComputeTask({ function: () => 2 });
    await expect(session.submitTasks([other, t, t])).rejects.toThrow(SessionError);
    expect([t.state, other.state]).toEqual(['NEW', 'NEW']);
    await session.submitTasks([t, other]);
    expect((await t).returnValue).toBe(1);
  });

  it("a user's uid shaped like a generated one that is live is a duplicate", async () => {
    await using session = await inlineSession();
    const auto = new ComputeTask({ function: () => new Promise((r) => setTimeout(() => r(1), 200)) });
    await session.submitTasks([auto]);
    const mimic = new ComputeTask({ uid: auto.uid, function: () => 2 });
    await expect(session.submitTasks([mimic])).rejects.toThrow(`Duplicate task uid ${auto.uid}`);
    // and the other way round: a generated uid meeting a live user uid of that shape
    const next = new ComputeTask({ function: () => 3 });
    const taken = new ComputeTask({ uid: `task.${String(Number(next.uid.slice(5)) + 1).padStart(6, '0')}`, function: () => new Promise((r) => setTimeout(() => r(4), 200)) });
    await session.submitTasks([taken]);
    const clash = new ComputeTask({ function: () => 5 });
    expect(clash.uid).toBe(taken.uid);
    await expect(session.submitTasks([clash])).rejects.toThrow(`Duplicate task uid ${taken.uid}`);
    await session.waitTasks([auto, taken]);
  });
});
