import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
let consumer: string;

const program = (load: string) => `
${load}
(async () => {
  const backend = await ConcurrentExecutionBackend.create({ executor: 'threads', maxWorkers: 1 });
  const session = new Session({ backends: [backend] });
  const tasks = [
    new ComputeTask({ function: (a, b) => a + b, args: [2, 3] }),
    new ComputeTask({ executable: '/bin/echo', arguments: ['consumer'] }),
  ];
  const results = await Promise.all(await session.submitTasks(tasks));
  await session.close();
  console.log(JSON.stringify({ sum: results[0].returnValue, echo: results[1].stdout, spawner: backend.spawner, machine: typeof taskMachine.config, TaskValidationError: typeof TaskValidationError }));
})();
`;

describe('the built package', () => {
  beforeAll(() => {
    execFileSync('npx', ['tsup'], { cwd: root, stdio: 'pipe' });
    consumer = mkdtempSync(join(tmpdir(), 'rh-consumer-'));
    mkdirSync(join(consumer, 'node_modules'));
    symlinkSync(root, join(consumer, 'node_modules', 'rhapsody'));
  }, 300_000); // a cold type-declaration build on 2 busy cores

  it('imports as ESM', () => {
    writeFileSync(
      join(consumer, 'esm.mjs'),
      program(`import { Session, ComputeTask, ConcurrentExecutionBackend, TaskValidationError } from 'rhapsody';\nimport { taskMachine } from 'rhapsody/machines';`),
    );
    const out = JSON.parse(execFileSync('node', ['esm.mjs'], { cwd: consumer, encoding: 'utf8' }));
    expect(out).toEqual({ sum: 5, echo: 'consumer\n', spawner: 'native', machine: 'object', TaskValidationError: 'function' });
  }, 60_000);

  it('requires as CJS', () => {
    writeFileSync(
      join(consumer, 'cjs.cjs'),
      program(`const { Session, ComputeTask, ConcurrentExecutionBackend, TaskValidationError } = require('rhapsody');\nconst { taskMachine } = require('rhapsody/machines');`),
    );
    const out = JSON.parse(execFileSync('node', ['cjs.cjs'], { cwd: consumer, encoding: 'utf8' }));
    expect(out).toEqual({ sum: 5, echo: 'consumer\n', spawner: 'native', machine: 'object', TaskValidationError: 'function' });
  }, 60_000);

  it('ships the rhapsody CLI', () => {
    const out = execFileSync('node', [join(consumer, 'node_modules', 'rhapsody', 'dist', 'cli.js'), 'machines'], { encoding: 'utf8' });
    expect(Object.keys(JSON.parse(out)).sort()).toEqual(['backend', 'inferenceRequest', 'modelService', 'processGroup', 'rank', 'session', 'task', 'wait']);
  }, 60_000);

  it("the README's Quick start: the try/finally form runs as a plain .mjs; `await using` needs Node ≥ 24 there", () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const quick = readme.slice(readme.indexOf('## Quick start'));
    const mjs = /```js\n([\s\S]*?)```/.exec(quick)![1]!;
    writeFileSync(join(consumer, 'quick-start.mjs'), mjs);
    expect(execFileSync('node', ['quick-start.mjs'], { cwd: consumer, encoding: 'utf8' })).toMatch(/^\[ \[ 'task\.\d+', 'DONE', 144 \] \]\n$/);
    const withUsing = /```ts\n([\s\S]*?)```/.exec(quick)![1]!;
    writeFileSync(join(consumer, 'quick-start-using.mjs'), withUsing.replace(/\(n: number\)/, '(n)'));
    const r = spawnSync('node', ['quick-start-using.mjs'], { cwd: consumer, encoding: 'utf8' });
    if (Number(process.versions.node.split('.')[0]) < 24) expect(r.stderr).toContain('SyntaxError');
    else expect(r.status).toBe(0);
  }, 60_000);

  it('in the clone, once built, `npx rhapsody` runs the built CLI', () => {
    const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
    expect(execFileSync('npx', ['--no', '--', 'rhapsody', '--version'], { cwd: root, encoding: 'utf8' })).toBe(`${version}\n`);
  }, 60_000);

  it('writes a telemetry checkpoint from the built package (worker file shipped)', () => {
    writeFileSync(
      join(consumer, 'tel.mjs'),
      `import { Session, ComputeTask, ConcurrentExecutionBackend } from 'rhapsody';
       import { readFileSync } from 'node:fs';
       const s = new Session({ backends: [new ConcurrentExecutionBackend({ executor: 'inline' })] });
       await s.startTelemetry({ checkpointPath: ${JSON.stringify(join(consumer, 'run.jsonl'))}, resourcePollInterval: 0 });
       const t = new ComputeTask({ function: () => 1 });
       await s.submitTasks([t]); await t; await s.close();
       console.log(readFileSync(${JSON.stringify(join(consumer, 'run.jsonl'))}, 'utf8').trim().split('\\n').length);`,
    );
    expect(Number(execFileSync('node', ['tel.mjs'], { cwd: consumer, encoding: 'utf8' }))).toBeGreaterThanOrEqual(7);
  }, 60_000);

  it('rhapsody/inference/llama: the embedded engine from the built package, ESM and CJS', () => {
    const body = (load: string) => `${load}
      (async () => {
        const dir = mkdtempSync(join(tmpdir(), 'rh-pkg-'));
        const { path } = writeTinyModel(join(dir, 'tiny.gguf'));
        const llm = await LlamaCppInferenceBackend.create({ modelPath: path, parallel: 2 });
        const s = new Session({ backends: [llm] });
        const t = new AITask({ prompt: 'hi', model: 'tiny', maxTokens: 3 });
        await s.submitTasks([t]); await t; await s.close();
        console.log(t.response);
      })();`;
    writeFileSync(
      join(consumer, 'llm.mjs'),
      body(`import { Session, AITask } from 'rhapsody'; import { writeTinyModel } from 'rhapsody/testing'; import { LlamaCppInferenceBackend } from 'rhapsody/inference/llama';
      import { mkdtempSync } from 'node:fs'; import { tmpdir } from 'node:os'; import { join } from 'node:path';`),
    );
    writeFileSync(
      join(consumer, 'llm.cjs'),
      body(`const { Session, AITask } = require('rhapsody'); const { writeTinyModel } = require('rhapsody/testing'); const { LlamaCppInferenceBackend } = require('rhapsody/inference/llama');
      const { mkdtempSync } = require('node:fs'); const { tmpdir } = require('node:os'); const { join } = require('node:path');`),
    );
    expect(execFileSync('node', ['llm.mjs'], { cwd: consumer, encoding: 'utf8' })).toBe('The quick robot\n');
    expect(execFileSync('node', ['llm.cjs'], { cwd: consumer, encoding: 'utf8' })).toBe('The quick robot\n');
  }, 60_000);

  it('ships type declarations without internals', async () => {
    const { readFile } = await import('node:fs/promises');
    const dts = await readFile(join(root, 'dist', 'index.d.ts'), 'utf8');
    expect(dts).toContain('declare class Session');
    expect(dts).toContain('submitTasks');
    expect(dts).not.toContain('_exec');
  });
  it('recognises errors across the ESM and CJS builds (brand)', () => {
    writeFileSync(
      join(consumer, 'brand.mjs'),
      `import { createRequire } from 'node:module';
import { TaskExecutionError, RhapsodyError, SessionError, isRhapsodyError } from 'rhapsody';
const cjs = createRequire(import.meta.url)('rhapsody');
const e = new cjs.TaskExecutionError('x', { taskUid: 't' });
console.log(JSON.stringify([cjs.TaskExecutionError === TaskExecutionError, e instanceof TaskExecutionError, e instanceof RhapsodyError, e instanceof SessionError, isRhapsodyError(e), isRhapsodyError(new Error('y')), new TaskExecutionError('z', { taskUid: 't' }) instanceof cjs.RhapsodyError]));`,
    );
    const out = JSON.parse(execFileSync('node', ['brand.mjs'], { cwd: consumer, encoding: 'utf8' }));
    expect(out).toEqual([false, true, true, false, true, false, true]);
  });
});
