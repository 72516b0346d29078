// Issue 12 §1: functions written in TypeScript and run with tsx (esbuild keepNames wraps nested
// names in `__name(…)`) run on threads, processes and HPC ranks. Run through tsx for real: the
// fixture checks that the wrappers are in the shipped source text.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { expectNoProcessesLeft, markProcesses } from '../helpers.js';

const mark = markProcesses();
afterAll(() => expectNoProcessesLeft(mark));

const root = fileURLToPath(new URL('../..', import.meta.url));

it('tsx-compiled functions with nested named functions, named arrows and classes run on threads, processes and ranks', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'test/fixtures/tsx-names.mts'], { cwd: root, timeout: 60_000, env: process.env });
  const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as { wrapped: boolean; results: Record<string, unknown[]> };
  expect(out.wrapped).toBe(true);
  for (const kind of ['threads', 'processes', 'hpc']) expect(out.results[kind]).toEqual(['14:helper/arrow/Box', 40]);
}, 90_000);
