import type { RunModel, ReportTask } from './report-model.js';
import { attemptsSection } from './report-attempts.js';
import { COLORS, esc, ms } from './report-common.js';
import { graphSection } from './report-graph.js';

/** Most task bars drawn; the rest are counted, not drawn (the page must stay usable). */
const MAX_BARS = 20_000;

/** Packs intervals into as few lanes as possible (greedy, by start). */
function lanes(tasks: ReportTask[], from: (t: ReportTask) => number, to: (t: ReportTask) => number): Map<ReportTask, number> {
  const ends: number[] = [];
  const lane = new Map<ReportTask, number>();
  for (const t of [...tasks].sort((a, b) => from(a) - from(b))) {
    let i = ends.findIndex((e) => e <= from(t));
    if (i < 0) i = ends.push(0) - 1;
    ends[i] = to(t);
    lane.set(t, i);
  }
  return lane;
}

/**
 * One task's row: pale while queued (and between attempts), violet while it waited for its
 * dependencies, one solid bar per attempt (`data-attempt`): orange for an attempt that was retried,
 * the final state's colour for the last. A task that never ran gets a mark at its end.
 */
function taskBars(t: ReportTask, ly: number, rowH: number, x: (t: number) => number, s: number, e: number): string {
  const h = rowH - 3;
  const lastStart = t.attempts.at(-1)?.started ?? e;
  const waitEnd = t.waited ? Math.min(t.queued ?? t.attempts[0]?.started ?? e, e) : s;
  const rect = (a: number, b: number, fill: string, extra = '') => `<rect x="${x(a).toFixed(1)}" y="${ly}" width="${Math.max(1, x(b) - x(a)).toFixed(1)}" height="${h}" fill="${fill}"${extra}`;
  let out = `${rect(s, lastStart, COLORS.QUEUED!, ' opacity="0.35"')}/>`;
  if (waitEnd > s) out += `${rect(s, waitEnd, COLORS.WAITING!, ' opacity="0.6" class="waiting"')}/>`;
  if (t.attempts.length === 0) out += `${rect(e, e, COLORS[t.state] ?? '#888')}/>`;
  for (const a of t.attempts) {
    const handedBack = a.outcome === 'retried' || a.outcome === 'requeued';
    const color = handedBack ? COLORS.RETRIED! : (COLORS[t.state] ?? '#888');
    const what = `attempt ${a.n} · ${a.outcome ?? 'running'}${a.error ? ` · ${a.error}` : ''}${a.delayMs !== null ? ` · next after ${ms(a.delayMs)}` : ''}`;
    out += `${rect(a.started, a.ended ?? e, color, ` data-attempt="${a.n}"`)}><title>${esc(`${t.uid} · ${what}`)}</title></rect>`;
  }
  const st = t.started ?? e;
  const title = [
    `${t.uid} · ${t.state} · ${t.backend}${t.node ? ` · ${t.node}` : ''}`,
    t.waited ? `waited for dependencies ${ms(waitEnd - s)}` : null,
    `queue ${ms(st - s)} · run ${t.started ? ms(e - st) : '—'}`,
    t.attempts.length > 1 ? `${t.attempts.length} attempts` : null,
    t.exitCode !== null ? `exit ${t.exitCode}` : null,
    t.dependencyUid ? `dependency ${t.dependencyUid} failed` : null,
    t.error,
  ].filter(Boolean);
  return `<g data-task="${esc(t.uid)}" data-state="${t.state}"${t.attempts.length > 1 ? ` data-attempts="${t.attempts.length}"` : ''}><title>${esc(title.join(' · '))}</title>${out}</g>`;
}

/** The window the tasks occupy (the session may have been open long before and after). */
function taskWindow(run: RunModel): [number, number] {
  let t0 = Infinity;
  let t1 = -Infinity;
  for (const t of run.tasks) {
    for (const v of [t.submitted ?? t.started, t.ended]) {
      if (v === null) continue;
      if (v < t0) t0 = v;
      if (v > t1) t1 = v;
    }
  }
  return Number.isFinite(t0) ? [t0, t1] : [run.start, run.end];
}

function timeline(run: RunModel): string {
  const width = 1100;
  const label = 220;
  const [t0, t1] = taskWindow(run);
  const span = Math.max(t1 - t0, 1);
  const x = (t: number) => label + ((t - t0) / span) * (width - label - 10);
  const groups = new Map<string, ReportTask[]>();
  for (const t of run.tasks.slice(0, MAX_BARS)) {
    const key = [t.backend || '(unrouted)', t.node, t.gpus?.length ? `GPU ${t.gpus.join(',')}` : null].filter(Boolean).join(' / ');
    (groups.get(key) ?? groups.set(key, []).get(key)!).push(t);
  }
  const rowH = 14;
  let y = 24;
  const parts: string[] = [];
  for (const [key, tasks] of [...groups].sort((a, b) => a[0].localeCompare(b[0]))) {
    const from = (t: ReportTask) => t.submitted ?? t.started ?? t0;
    const to = (t: ReportTask) => t.ended ?? t1;
    const packed = lanes(tasks, from, to);
    const nLanes = Math.max(1, ...packed.values()) + 1;
    parts.push(`<text x="4" y="${y + 11}" class="group">${esc(key)} (${tasks.length})</text>`);
    for (const t of tasks) parts.push(taskBars(t, y + packed.get(t)! * rowH, rowH, x, from(t), to(t)));
    y += nLanes * rowH + 10;
  }
  const axis = [0, 0.25, 0.5, 0.75, 1].map((f) => `<text x="${x(t0 + f * span)}" y="14" class="axis" text-anchor="${f === 0 ? 'start' : f === 1 ? 'end' : 'middle'}">${ms(f * span)}</text>`).join('');
  const more = run.tasks.length > MAX_BARS ? `<p class="note">${run.tasks.length - MAX_BARS} more tasks are counted above but not drawn.</p>` : '';
  return `<svg id="timeline" width="${width}" height="${y}" xmlns="http://www.w3.org/2000/svg">${axis}${parts.join('')}</svg>${more}`;
}

function histogram(title: string, values: number[]): string {
  const bounds = [0.1, 1, 10, 100, 1000, 10_000, 60_000, Infinity];
  const names = ['≤0.1ms', '≤1ms', '≤10ms', '≤100ms', '≤1s', '≤10s', '≤60s', '>60s'];
  const counts = bounds.map(() => 0);
  for (const v of values) counts[bounds.findIndex((b) => v <= b)]!++;
  const max = Math.max(1, ...counts);
  const bars = counts
    .map((c, i) => {
      const h = (c / max) * 100;
      return `<rect x="${i * 44 + 4}" y="${110 - h}" width="36" height="${h}" fill="#3b7dd8"><title>${names[i]}: ${c}</title></rect><text x="${i * 44 + 22}" y="124" class="axis" text-anchor="middle">${names[i]}</text><text x="${i * 44 + 22}" y="${106 - h}" class="axis" text-anchor="middle">${c || ''}</text>`;
    })
    .join('');
  return `<figure class="hist"><figcaption>${esc(title)} (${values.length})</figcaption><svg width="360" height="130" xmlns="http://www.w3.org/2000/svg">${bars}</svg></figure>`;
}

function linePlot(title: string, run: RunModel, series: Array<{ name: string; color: string; value: (s: RunModel['samples'][number]) => number | undefined }>, unit: string): string {
  const w = 520;
  const h = 160;
  const pts = run.samples;
  if (pts.length === 0) return `<figure class="plot"><figcaption>${esc(title)}</figcaption><p class="note">no resource samples</p></figure>`;
  const span = Math.max(run.end - run.start, 1);
  const all = series.flatMap((s) => pts.map(s.value).filter((v): v is number => v !== undefined));
  const max = Math.max(1e-9, ...all);
  const lines = series
    .map((s) => {
      const d = pts
        .map((p) => [p.t, s.value(p)] as const)
        .filter(([, v]) => v !== undefined)
        .map(([t, v], i) => `${i ? 'L' : 'M'}${(40 + ((t - run.start) / span) * (w - 50)).toFixed(1)},${(h - 20 - (v! / max) * (h - 40)).toFixed(1)}`)
        .join('');
      return `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.5"><title>${esc(s.name)}</title></path>`;
    })
    .join('');
  const legend = series.map((s) => `<span style="color:${s.color}">■ ${esc(s.name)}</span>`).join(' ');
  return `<figure class="plot"><figcaption>${esc(title)} (max ${max.toFixed(1)} ${unit}) ${legend}</figcaption><svg width="${w}" height="${h}" xmlns="http://www.w3.org/2000/svg"><line x1="40" y1="${h - 20}" x2="${w - 10}" y2="${h - 20}" stroke="#999"/>${lines}</svg></figure>`;
}

/**
 * A self-contained HTML page (inline CSS and SVG, no scripts, no external resources).
 *
 * @example
 * import { parseRun, renderReport } from 'rhapsody/report';
 * await writeFile('report.html', renderReport(parseRun(await readFile('run.jsonl', 'utf8'))));
 */
export function renderReport(run: RunModel): string {
  const counts: Record<string, number> = {};
  for (const t of run.tasks) counts[t.state] = (counts[t.state] ?? 0) + 1;
  const total = run.tasks.length || 1;
  const stateRows = Object.entries(counts)
    .sort()
    .map(
      ([s, n]) =>
        `<tr><td><span class="dot" style="background:${COLORS[s]}"></span>${s}</td><td data-count="${s}">${n}</td><td><div class="bar" style="width:${(n / total) * 300}px;background:${COLORS[s]}"></div></td></tr>`,
    )
    .join('');
  const queue = run.tasks.filter((t) => t.submitted !== null && t.started !== null).map((t) => t.started! - t.submitted!);
  const exec = run.tasks.filter((t) => t.started !== null && t.ended !== null).map((t) => t.ended! - t.started!);
  const tot = run.tasks.filter((t) => t.submitted !== null && t.ended !== null).map((t) => t.ended! - t.submitted!);
  const gpuIds = [...new Set(run.samples.flatMap((s) => (s.gpus ?? []).map((g) => g.index)))];
  const palette = ['#8e44ad', '#16a085', '#c0392b', '#2c3e50', '#d35400', '#27ae60', '#2980b9', '#f39c12'];
  const waited = run.tasks.filter((t) => t.waited).length;
  const retried = run.tasks.filter((t) => t.attempts.length > 1);
  const retries = retried.reduce((n, t) => n + t.attempts.length - 1, 0);
  const byDependency = run.tasks.filter((t) => t.dependencyUid !== null).length;
  const graphCounts =
    run.edges.length || retried.length
      ? `<p id="graph-counts">${run.edges.length} edges · ${waited} tasks waited for dependencies · ${byDependency} failed by a dependency · ${retries} retries over ${retried.length} tasks</p>`
      : '';
  const [t0] = taskWindow(run);
  const warn = [
    run.badLines ? `${run.badLines} unreadable line(s) skipped (truncated checkpoint?)` : '',
    run.ended ? '' : 'the run has no session.ended event: it crashed or is still running; showing what was recorded',
  ].filter(Boolean);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>rhapsody run ${esc(run.session ?? '')}</title>
<style>
body{font:13px/1.4 system-ui,sans-serif;margin:20px;color:#222}h1{font-size:18px}h2{font-size:15px;margin-top:24px}
.group{font-size:11px;font-weight:600}.axis{font-size:10px;fill:#555}.note{color:#a05a00}
table{border-collapse:collapse}td{padding:2px 8px}.dot{display:inline-block;width:10px;height:10px;margin-right:6px;border-radius:2px}
.bar{height:10px}th{text-align:left;padding:2px 8px}.graph{overflow:auto;max-height:640px;border:1px solid #ddd}
#graph text{font-size:11px;fill:#222}.edge{fill:none;stroke:#777;stroke-width:1.2}.edge.failed{stroke:#d64545;stroke-dasharray:5 3}figure{display:inline-block;margin:0 16px 16px 0;vertical-align:top}figcaption{font-weight:600;margin-bottom:4px}
</style></head><body>
<h1>rhapsody run ${esc(run.session ?? '(unknown session)')}</h1>
<p id="meta">${run.tasks.length} tasks · ${ms(run.end - run.start)} · ${new Date(run.start).toISOString()}</p>
${warn.map((w) => `<p class="note">${esc(w)}</p>`).join('')}
<h2>States</h2><table id="states">${stateRows}</table>
${graphCounts}
${graphSection(run)}
<h2>Timeline</h2><p class="axis">one row per concurrently running task, grouped by backend / node / GPU; pale = queued, violet = waiting for dependencies, solid = running (one bar per attempt; orange = an attempt that was retried)</p>
${timeline(run)}
${attemptsSection(run, t0)}
<h2>Latency</h2>${histogram('queue (submitted → running)', queue)}${histogram('execution (running → end)', exec)}${histogram('total (submitted → end)', tot)}
<h2>Resources</h2>
${linePlot('CPU', run, [{ name: 'host CPU %', color: '#c0392b', value: (s) => s.cpuPercent }], '%')}
${linePlot(
  'Memory',
  run,
  [
    { name: 'process RSS MiB', color: '#2980b9', value: (s) => s.rssBytes / 2 ** 20 },
    { name: 'host used MiB', color: '#7f8c8d', value: (s) => s.memUsedBytes / 2 ** 20 },
  ],
  'MiB',
)}
${
  gpuIds.length
    ? linePlot(
        'GPU utilisation',
        run,
        gpuIds.map((id, i) => ({ name: `GPU ${id} %`, color: palette[i % palette.length]!, value: (s) => s.gpus?.find((g) => g.index === id)?.utilizationPercent })),
        '%',
      )
    : ''
}
</body></html>`;
}
