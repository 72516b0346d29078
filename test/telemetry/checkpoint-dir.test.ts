// checkpointPath as the Python original's checkpoint_path: a directory gets
// `<session uid>.<unix seconds>.telemetry.jsonl` inside; a file path is the file, as before.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ComputeTask, ConcurrentExecutionBackend, Session } from '../../src/index.js';

const dirs: string[] = [];
const tmp = async () => {
  const d = await mkdtemp(join(tmpdir(), 'rh-tel-dir-'));
  dirs.push(d);
  return d;
};
afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

async function runInto(checkpointPath: string): Promise<{ file: string; uid: string; before: number; after: number }> {
  await using session = new Session({ backends: [new ConcurrentExecutionBackend({ executor: 'inline' })] });
  const before = Math.floor(Date.now() / 1000);
  const telemetry = await session.startTelemetry({ checkpointPath, resourcePollInterval: 0 });
  const t = new ComputeTask({ function: () => 1 });
  await session.submitTasks([t]);
  await t;
  await session.close();
  return { file: telemetry.checkpointPath!, uid: session.uid, before, after: Math.floor(Date.now() / 1000) };
}

describe('telemetry checkpointPath', () => {
  it('an existing directory gets <session uid>.<unix seconds>.telemetry.jsonl inside', async () => {
    const dir = await tmp();
    const { file, uid, before, after } = await runInto(dir);
    const [name, ...others] = await readdir(dir);
    expect(others).toEqual([]);
    const m = /^(.+)\.(\d+)\.telemetry\.jsonl$/.exec(name!)!;
    expect(m[1]).toBe(uid);
    expect(Number(m[2])).toBeGreaterThanOrEqual(before);
    expect(Number(m[2])).toBeLessThanOrEqual(after);
    expect(file).toBe(join(dir, name!));
    const types = (await readFile(file, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { type: string }).type);
    expect(types[0]).toBe('session.started');
    expect(types).toContain('task.completed');
    expect(types.at(-1)).toBe('session.ended');
  });

  it('a path ending in / is a directory, made when missing', async () => {
    const dir = `${join(await tmp(), 'telemetry', 'run-1')}/`;
    const { file, uid } = await runInto(dir);
    expect(file.startsWith(dir)).toBe(true);
    expect(await readdir(dir)).toEqual([file.slice(dir.length)]);
    expect(file.slice(dir.length)).toMatch(new RegExp(`^${uid.replace(/[.]/g, '\\.')}\\.\\d+\\.telemetry\\.jsonl$`));
  });

  it('a file path is the file itself', async () => {
    const path = join(await tmp(), 'run.jsonl');
    const { file } = await runInto(path);
    expect(file).toBe(path);
    expect((await readFile(path, 'utf8')).split('\n')[0]).toContain('session.started');
  });
});
