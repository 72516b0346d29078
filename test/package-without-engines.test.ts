// A fresh clone without the optional engines (no node-llama-cpp) typechecks and builds, d.ts
// included: the tree is copied next to a node_modules that has every package but that one.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const OPTIONAL = new Set(['node-llama-cpp', '@node-llama-cpp']);
let clone: string;

describe('without the optional engines', () => {
  beforeAll(() => {
    clone = mkdtempSync(join(tmpdir(), 'rh-no-engines-'));
    for (const entry of ['package.json', 'tsconfig.json', 'tsconfig.workers.json', 'src', 'actors', 'scripts', 'machines', 'examples', 'test', 'bench'])
      cpSync(join(root, entry), join(clone, entry), { recursive: true });
    mkdirSync(join(clone, 'node_modules'));
    const modules = join(root, 'node_modules');
    for (const name of readdirSync(modules)) if (!OPTIONAL.has(name)) symlinkSync(join(modules, name), join(clone, 'node_modules', name));
  });
  afterAll(() => rmSync(clone, { recursive: true, force: true }));

  it('node-llama-cpp is really absent there', () => {
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', "await import('node-llama-cpp')"], { cwd: clone, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("Cannot find package 'node-llama-cpp'");
  });

  it('npm run typecheck passes', () => {
    const r = spawnSync('npx', ['tsc', '--noEmit'], { cwd: clone, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
    // the second half of `npm run typecheck`: the plain-JS worker entries (tsconfig.workers.json)
    const workers = spawnSync('npx', ['tsc', '--noEmit', '-p', 'tsconfig.workers.json'], { cwd: clone, encoding: 'utf8' });
    expect(workers.stdout + workers.stderr).toBe('');
    expect(workers.status).toBe(0);
  }, 400_000); // a cold tsc on 2 busy cores

  it('npm run build passes, type declarations included, and the built CLI runs', () => {
    execFileSync('npx', ['tsup'], { cwd: clone, stdio: 'pipe' });
    for (const f of ['index.d.ts', 'index.d.cts', 'inference/llama.d.ts', 'machines.d.ts', 'cli.js']) expect(existsSync(join(clone, 'dist', f)), f).toBe(true);
    const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
    expect(execFileSync(process.execPath, [join(clone, 'dist', 'cli.js'), '--version'], { encoding: 'utf8' })).toBe(`${version}\n`);
    const doctor = execFileSync(process.execPath, [join(clone, 'dist', 'cli.js'), 'doctor'], { encoding: 'utf8' });
    expect(doctor).toMatch(/^ {2}node-llama-cpp +missing · not installed/m);
  }, 500_000);
});
