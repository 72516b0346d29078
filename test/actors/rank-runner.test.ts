// The rank runner (actors/hpc/rank-runner.mjs) through the HPC backend: what a function rank
// reports when its return value cannot travel back as JSON (the error is what the rank threw).
import { afterAll, describe, expect, it } from 'vitest';
import { ComputeTask, HpcExecutionBackend, Session } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses } from '../helpers.js';

const mark = markProcesses();
afterAll(() => expectNoProcessesLeft(mark));

describe('rank runner', () => {
  it('a return value whose toJSON throws a non-Error fails the task with what was thrown', async () => {
    await using s = new Session({ backends: [await HpcExecutionBackend.create({ nodes: [{ hostname: 'node-0', cpus: 2, gpus: [] }] })] });
    const bigint = new ComputeTask({ function: () => ({ n: 1n }), taskBackendSpecificKwargs: { processTemplate: {} } });
    const thrower = new ComputeTask({
      function: () => ({
        toJSON() {
          throw 'no JSON for this one';
        },
      }),
      taskBackendSpecificKwargs: { processTemplate: {} },
    });
    await s.submitTasks([bigint, thrower]);
    await s.waitTasks([bigint, thrower]);
    expect([bigint.state, thrower.state]).toEqual(['FAILED', 'FAILED']);
    expect(bigint.exception).toBeInstanceOf(TypeError);
    expect(bigint.exception!.message).toMatch(/the return value cannot be sent back as JSON: Do not know how to serialize a BigInt/);
    expect(thrower.exception).toBeInstanceOf(TypeError);
    expect(thrower.exception!.message).toContain('the return value cannot be sent back as JSON: no JSON for this one');
  });
});
