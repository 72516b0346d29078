// The report of a run with a task graph and a retried task, from a real session's checkpoint, checked
// in headless Chromium: one drawn edge per dependency, laid out left to right by depth, dependency
// failures marked, each attempt of the retried task visible in the timeline and the attempts table.
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { launchChromium } from './chromium.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ComputeTask, ConcurrentExecutionBackend, Session } from '../../src/index.js';
import { parseRun, renderReport, type RunModel } from '../../src/report.js';
import { expectNoProcessesLeft, markProcesses } from '../helpers.js';

const EDGES = ['gate>a', 'gate>b', 'a>join', 'b>join', 'bad>d1', 'd1>d2', 'gate>flaky'];
const mark = markProcesses();
let run: RunModel;
let page: string;
let checkpoint: string;

beforeAll(async () => {
  const dir = await mkdtemp(join(tmpdir(), 'rh-report-graph-'));
  const checkpointPath = join(dir, 'run.jsonl');
  checkpoint = checkpointPath;
  const session = new Session({
    uid: 'report-graph',
    backends: [await ConcurrentExecutionBackend.create({ name: 'threads', executor: 'threads', maxWorkers: 2 }), await ConcurrentExecutionBackend.create({ name: 'inline', executor: 'inline' })],
  });
  await session.startTelemetry({ checkpointPath, resourcePollInterval: 0 });
  let runs = 0;
  const gate = new ComputeTask({ uid: 'gate', executable: '/bin/sleep', arguments: ['0.05'], backend: 'inline' });
  const a = new ComputeTask({ uid: 'a', function: () => 1, dependsOn: [gate] });
  const b = new ComputeTask({ uid: 'b', function: () => 2, dependsOn: [gate] });
  const join_ = new ComputeTask({ uid: 'join', function: (x: number, y: number) => x + y, args: [a, b] });
  const bad = new ComputeTask({ uid: 'bad', executable: '/bin/sh', arguments: ['-c', 'exit 3'], backend: 'inline' });
  const d1 = new ComputeTask({ uid: 'd1', function: () => 1, dependsOn: [bad] });
  const d2 = new ComputeTask({ uid: 'd2', function: () => 1, dependsOn: [d1] });
  const flaky = new ComputeTask({
    uid: 'flaky',
    function: () => {
      if (++runs < 3) throw new Error(`run ${runs} failed`);
      return runs;
    },
    backend: 'inline',
    retries: { max: 3, delay: 20, on: 'any' },
    dependsOn: [gate],
  });
  const tasks = [gate, a, b, join_, bad, d1, d2, flaky];
  await session.submitTasks(tasks);
  await session.waitTasks(tasks);
  await session.close();
  run = parseRun(await readFile(checkpointPath, 'utf8'));
  page = join(dir, 'page.html');
  await writeFile(page, renderReport(run));
}, 60_000);

afterAll(() => expectNoProcessesLeft(mark));

describe('report of a task graph with retries', () => {
  it('reads the edges, the attempts and the dependency failures back from the checkpoint', () => {
    expect(run.edges.map((e) => `${e.from}>${e.to}`).sort()).toEqual([...EDGES].sort());
    const flaky = run.tasks.find((t) => t.uid === 'flaky')!;
    expect(flaky.attempts.map((x) => [x.n, x.outcome, x.error])).toEqual([
      [1, 'retried', 'run 1 failed'],
      [2, 'retried', 'run 2 failed'],
      [3, 'DONE', null],
    ]);
    for (const x of flaky.attempts) expect(x.ended).toBeGreaterThanOrEqual(x.started);
    expect(flaky.attempts[0]!.delayMs).toBe(20);
    expect(flaky.waited).toBe(true);
    expect(run.tasks.filter((t) => t.dependencyUid !== null).map((t) => `${t.uid}<${t.dependencyUid}`)).toEqual(['d1<bad', 'd2<d1']);
    expect(run.tasks.find((t) => t.uid === 'd2')!.attempts).toEqual([]);
  });

  it('the CLI says how many edges it read', async () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const { stdout } = await promisify(execFile)('npx', ['tsx', 'src/cli.ts', 'report', checkpoint, '-o', join(dirname(checkpoint), 'cli.html')], { cwd: root });
    expect(stdout).toContain(`cli.html: 8 tasks, ${EDGES.length} edges`);
  }, 60_000);

  it('draws every edge, marks dependency failures and shows each attempt, in headless Chromium', async () => {
    const browser = await launchChromium();
    try {
      const tab = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      await tab.goto(pathToFileURL(page).href);
      // one drawn edge per dependency, each from its dependency's node to its dependent's, left to right
      const edges = await tab.$$eval('#graph .edge', (els) =>
        els.map((e) => {
          const box = (e as unknown as { getBBox(): { width: number } }).getBBox();
          return { id: `${e.getAttribute('data-from')}>${e.getAttribute('data-to')}`, failed: e.classList.contains('failed'), width: box.width };
        }),
      );
      expect(edges).toHaveLength(EDGES.length);
      expect(edges.map((e) => e.id).sort()).toEqual([...EDGES].sort());
      expect(edges.every((e) => e.width > 10)).toBe(true);
      expect(edges.filter((e) => e.failed).map((e) => e.id)).toEqual(['bad>d1', 'd1>d2']);
      const nodes = await tab.$$eval('#graph [data-node]', (els) =>
        Object.fromEntries(els.map((e) => [e.getAttribute('data-node'), { x: e.getBoundingClientRect().x, state: e.getAttribute('data-state'), text: e.textContent }])),
      );
      expect(Object.keys(nodes).sort()).toEqual(['a', 'b', 'bad', 'd1', 'd2', 'flaky', 'gate', 'join']);
      for (const id of EDGES) {
        const [from, to] = id.split('>') as [string, string];
        expect(nodes[from]!.x, id).toBeLessThan(nodes[to]!.x);
      }
      expect([nodes.join!.state, nodes.bad!.state, nodes.d2!.state, nodes.flaky!.state]).toEqual(['DONE', 'FAILED', 'FAILED', 'DONE']);
      expect(nodes.flaky!.text).toContain('×3');
      expect(await tab.locator('#graph .node.dep-failed').count()).toBe(2);
      // the retried task: three attempt bars in the timeline, three rows in the attempts table
      const bars = tab.locator('#timeline [data-task="flaky"] [data-attempt]');
      expect(await bars.count()).toBe(3);
      for (let i = 0; i < 3; i++) expect((await bars.nth(i).boundingBox())!.width).toBeGreaterThan(0);
      const rows = tab.locator('#attempts [data-attempt-row="flaky"]');
      expect(await rows.count()).toBe(3);
      // biome-ignore lint/performance/useDomNodeTextContent: what is drawn, as the user sees it
      const text = await tab.locator('#attempts').innerText();
      expect(text).toMatch(/flaky\s+1\s.*retried \(next after 20\.0 ms\)\s+run 1 failed/);
      expect(text).toMatch(/flaky\s+3\s.*DONE/);
      expect(text).toMatch(/d2\s.*failed by dependency d1/);
      expect(await rows.first().isVisible()).toBe(true);
      // biome-ignore lint/performance/useDomNodeTextContent: as the user sees it
      expect(await tab.locator('#graph-counts').innerText()).toBe('7 edges · 6 tasks waited for dependencies · 2 failed by a dependency · 2 retries over 1 tasks');
    } finally {
      await browser.close();
    }
  }, 60_000);
});
