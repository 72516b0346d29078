// The `rhapsody` command as a user runs it: a real subprocess (tsx over the sources), in an empty
// folder, checked for its output, its exit code (0 ok, 1 failure, 2 usage) and the files it leaves.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const cwd = mkdtempSync(join(tmpdir(), 'rhapsody-cli-'));
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

/** Runs the CLI; never rejects: stdout, stderr and the exit code. */
function cli(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(join(root, 'node_modules/.bin/tsx'), [join(root, 'src/cli.ts'), ...args], { cwd, env, encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;

// each run starts tsx (1–10 s on a busy 2-core machine): generous timeouts
describe('rhapsody CLI', { timeout: 120_000 }, () => {
  it.each(COMMANDS.map((c) => c.name))('%s --help prints its usage and every option, exits 0 and writes nothing', async (name) => {
    const cmd = COMMANDS.find((c) => c.name === name)!;
    for (const flag of ['--help', '-h']) {
      const r = await cli([name, flag]);
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toContain(`usage: rhapsody ${name}`);
      expect(r.stdout).toContain(cmd.summary);
      for (const [opt, spec] of Object.entries(cmd.options)) {
        expect(r.stdout).toContain(`--${opt}`);
        expect(r.stdout).toContain(spec.description);
      }
      expect(r.stdout).toContain('--help');
    }
    expect(readdirSync(cwd)).toEqual([]); // tiny-model --help used to write a model named --help
  });

  it("rhapsody --help lists every command; help NAME is that command's help", async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    for (const c of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${c.name} +${c.summary.replace(/[()]/g, '\\$&')}$`, 'm'));
    const w = await cli(['help', 'worker']);
    expect(w.code).toBe(0);
    expect(w.stdout).toContain('usage: rhapsody worker [options]');
  });

  it('--version and -v print the package version', async () => {
    for (const flag of ['--version', '-v']) {
      const r = await cli([flag]);
      expect(r).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
    }
  });

  it('from a clone, without a build: npm run rhapsody -- ARGS', () => {
    const out = execFileSync('npm', ['run', '--silent', 'rhapsody', '--', '--version'], { cwd: root, encoding: 'utf8' });
    expect(out).toBe(`${version}\n`);
  });

  it('no command: the help on stderr, exit 2', async () => {
    const r = await cli([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('usage: rhapsody COMMAND');
  });

  it('an unknown command or option names itself, exit 2', async () => {
    const a = await cli(['frobnicate']);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain("unknown command 'frobnicate'");
    expect(a.stderr).toContain('doctor, report, worker');
    const b = await cli(['report', '--frob', 'x.jsonl']);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/rhapsody report: Unknown option '--frob'/);
    expect(b.stderr).toContain("'rhapsody report --help'");
    const c = await cli(['--frob']);
    expect(c.code).toBe(2);
    expect(c.stderr).toContain("unknown option '--frob'");
  });

  it('bad or missing option values are usage errors naming the option, exit 2', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['serve-model', '--model', 'm.gguf', '--port', 'abc'], /serve-model: --port must be a whole number from 0 to 65535 \(got 'abc'\)/],
      [['serve-model'], /serve-model: --model FILE.gguf is required/],
      [['worker'], /worker: --connection redis:\/\/host:port is required/],
      [['worker', '--connection', 'redis://127.0.0.1:1', '--executor', 'process'], /worker: --executor must be one of threads, processes, inline \(got 'process'\)/],
      [['worker', '--connection', 'redis://127.0.0.1:1', '--concurrency', '0'], /worker: --concurrency must be a whole number from 1 up \(got '0'\)/],
      [['worker', '--connection', 'redis://127.0.0.1:1', '--resources', 'GPU'], /worker: --resources: bad resource "GPU"/],
      [['inspect', '--port'], /inspect: Option '--port <value>' argument missing/],
      [['report'], /report: missing RUN\.jsonl/],
      [['tiny-model'], /tiny-model: missing OUT\.gguf/],
      [['machines', 'extra'], /machines: unexpected argument 'extra' \(takes no arguments\)/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toMatch(message);
    }
    expect(readdirSync(cwd)).toEqual([]);
  }, 300_000);

  it('a failure at run time exits 1 with the reason', async () => {
    const r = await cli(['report', 'missing.jsonl']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^rhapsody report: ENOENT.*missing\.jsonl/);
  });

  it('tiny-model OUT.gguf writes the model there', async () => {
    const r = await cli(['tiny-model', 'm.gguf']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^m\.gguf: \d+ bytes, \d+ tokens\n$/);
    expect(existsSync(join(cwd, 'm.gguf'))).toBe(true);
    rmSync(join(cwd, 'm.gguf'));
  });
});
