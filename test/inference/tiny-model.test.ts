// writeTinyModel() without a path leaves nothing in the OS temp dir: its directory goes when the
// result is disposed or, at the latest, when the process exits.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { writeTinyModel } from '../../src/testing.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'rh-tiny-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('writeTinyModel temporary files', () => {
  it('disposing the result removes its temporary directory; a given path is left alone', () => {
    let path: string;
    {
      using model = writeTinyModel();
      path = model.path;
      expect(existsSync(path)).toBe(true);
    }
    expect(existsSync(dirname(path))).toBe(false);
    const mine = join(scratch, 'mine.gguf');
    writeTinyModel(mine)[Symbol.dispose]();
    expect(existsSync(mine)).toBe(true);
  });

  it('a process that never disposes it leaves no directory behind at exit', () => {
    const tmp = mkdtempSync(join(scratch, 'tmp-'));
    const script = join(scratch, 'write.ts');
    writeFileSync(
      script,
      `import { existsSync } from 'node:fs';\nimport { writeTinyModel } from ${JSON.stringify(join(root, 'src/testing.ts'))};\nconst a = writeTinyModel().path, b = writeTinyModel().path;\nconsole.log(existsSync(a) && existsSync(b) && a !== b);\n`,
    );
    const out = execFileSync(join(root, 'node_modules/.bin/tsx'), [script], { env: { ...process.env, TMPDIR: tmp }, encoding: 'utf8' });
    expect(out.trim()).toBe('true');
    expect(readdirSync(tmp).filter((f) => !/^tsx-\d+$/.test(f))).toEqual([]); // tsx-<uid>: tsx's own compile cache
  }, 60_000);
});
