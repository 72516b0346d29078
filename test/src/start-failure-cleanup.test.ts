// A backend whose start fails stops what it had started (its spawners): nothing is left running,
// whether or not the user calls shutdown() after the rejection (issue 11 item 8).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BackendError, HpcExecutionBackend } from '../../src/index.js';
import { expectNoProcessesLeft, markProcesses } from '../helpers.js';

const mark = markProcesses();
afterEach(async () => {
  await expectNoProcessesLeft(mark);
});

/** SLURM discovery fails after the spawners are up: `scontrol` is not on PATH. */
async function failingStart(): Promise<HpcExecutionBackend> {
  const be = new HpcExecutionBackend({ launcher: 'slurm' });
  const empty = mkdtempSync(join(tmpdir(), 'rh-nopath-'));
  const path = process.env.PATH;
  process.env.PATH = empty;
  try {
    const err = await be.start().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(BackendError);
    expect((err as Error).message).toMatch(/hpc failed to start: .*scontrol/);
  } finally {
    process.env.PATH = path;
    rmSync(empty, { recursive: true, force: true });
  }
  return be;
}

describe('a backend whose start fails', () => {
  it('leaves no spawner behind, without a shutdown() call', async () => {
    const be = await failingStart();
    expect(be.state).toBe('SHUTDOWN');
    await expectNoProcessesLeft(mark);
  });

  it('and shutdown() after it resolves at once', async () => {
    const be = await failingStart();
    await be.shutdown();
    expect(be.state).toBe('SHUTDOWN');
  });

  it("the issue's own case, nodes: [], is refused before anything starts", async () => {
    await expect(HpcExecutionBackend.create({ nodes: [] })).rejects.toThrow(/at least one node/);
  });
});
