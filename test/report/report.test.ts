import { execFile } from 'node:child_process';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { launchChromium } from './chromium.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { ComputeTask, ConcurrentExecutionBackend, Session } from '../../src/index.js';
import { parseRun, renderReport } from '../../src/report.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
let dir: string;
let checkpoint: string;
let uids: string[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rh-report-'));
  checkpoint = join(dir, 'run.jsonl');
  const session = new Session({
    uid: 'report-run',
    backends: [new ConcurrentExecutionBackend({ name: 'threads', executor: 'threads', maxWorkers: 2 }), new ConcurrentExecutionBackend({ name: 'inline', executor: 'inline' })],
  });
  await session.startTelemetry({ checkpointPath: checkpoint, resourcePollInterval: 25 });
  const tasks = [
    ...Array.from({ length: 12 }, (_, i) => new ComputeTask({ function: async (ms: number) => new Promise((r) => setTimeout(() => r(ms), ms)), args: [20 + 10 * i] })),
    ...Array.from({ length: 6 }, (_, i) => new ComputeTask({ executable: '/bin/sleep', arguments: [String(0.05 * (i + 1))], backend: 'inline' })),
    new ComputeTask({ executable: '/bin/false', backend: 'inline' }),
  ];
  uids = tasks.map((t) => t.uid);
  await session.submitTasks(tasks);
  await session.waitTasks(tasks);
  await session.close();
}, 60_000);

describe('run report', () => {
  it('the CLI turns a checkpoint into a self-contained page with every task', async () => {
    const out = join(dir, 'report.html');
    const { stdout } = await promisify(execFile)('npx', ['tsx', 'src/cli.ts', 'report', checkpoint, '-o', out], { cwd: root });
    expect(stdout).toContain(`${uids.length} tasks`);
    const html = await readFile(out, 'utf8');
    for (const uid of uids) expect(html).toContain(`data-task="${uid}"`);
    expect(html).not.toMatch(/<script|src="http|href="http/); // nothing external
    expect(html).toContain('data-count="FAILED">1<');
  }, 60_000);

  it('a truncated checkpoint (a crashed run) still renders what it has', async () => {
    const text = await readFile(checkpoint, 'utf8');
    const cut = text.slice(0, Math.floor(text.length * 0.6));
    const run = parseRun(cut);
    expect(run.badLines).toBeLessThanOrEqual(1);
    expect(run.ended).toBe(false);
    expect(run.tasks.length).toBeGreaterThan(0);
    const html = renderReport(run);
    expect(html).toContain('no session.ended event');
    expect(html.match(/data-task="/g)?.length).toBe(run.tasks.length);
  });

  it('renders in headless Chromium: every task drawn, a screenshot taken', async () => {
    const page = join(dir, 'page.html');
    await writeFile(page, renderReport(parseRun(await readFile(checkpoint, 'utf8'))));
    const browser = await launchChromium();
    try {
      const tab = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      await tab.goto(pathToFileURL(page).href);
      const drawn = await tab.$$eval('[data-task]', (els) => els.map((e) => e.getAttribute('data-task')));
      expect(drawn.sort()).toEqual([...uids].sort());
      const box = await tab.locator('#timeline').boundingBox();
      expect(box!.width).toBeGreaterThan(500);
      // biome-ignore lint/performance/useDomNodeTextContent: what is drawn, as the user sees it
      expect(await tab.locator('#states').innerText()).toContain('DONE');
      const shot = join(dir, 'report.png');
      await tab.screenshot({ path: shot, fullPage: true });
      expect((await stat(shot)).size).toBeGreaterThan(10_000);
      if (process.env.RHAPSODY_DOCS_SCREENSHOT) await tab.screenshot({ path: process.env.RHAPSODY_DOCS_SCREENSHOT, fullPage: true });
    } finally {
      await browser.close();
    }
  }, 60_000);
});
