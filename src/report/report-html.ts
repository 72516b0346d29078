import type { RunModel, ReportTask } from './report-model.js';

const COLORS: Record<string, string> = {
  DONE: '#2e9e5b',
  FAILED: '#d64545',
  CANCELED: '#9a9a9a',
  RUNNING: '#3b7dd8',
  QUEUED: '#e0a030',
  SUBMITTED: '#e0c060',
  NEW: '#cccccc',
};
/** Most task bars drawn; the rest are counted, not drawn (the page must stay usable). */
const MAX_BARS = 20_000;

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const ms = (x: number) => (x >= 1000 ? `${(x / 1000).toFixed(2)} s` : `${x.toFixed(1)} ms`);

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

function timeline(run: RunModel): string {
  const width = 1100;
  const label = 220;
  // the window the tasks occupy (the session may have been open long before and after)
  const times = run.tasks.flatMap((t) => [t.submitted ?? t.started, t.ended]).filter((v): v is number => v !== null);
  const t0 = times.length ? Math.min(...times) : run.start;
  const t1 = times.length ? Math.max(...times) : run.end;
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
    for (const t of tasks) {
      const ly = y + packed.get(t)! * rowH;
      const s = from(t);
      const st = t.started ?? to(t);
      const e = to(t);
      const title = `${t.uid} · ${t.state} · ${t.backend}${t.node ? ` · ${t.node}` : ''} · queue ${ms(st - s)} · run ${t.started ? ms(e - st) : '—'}${t.exitCode !== null ? ` · exit ${t.exitCode}` : ''}${t.error ? ` · ${t.error}` : ''}`;
      parts.push(
        `<g data-task="${esc(t.uid)}" data-state="${t.state}"><title>${esc(title)}</title>` +
          `<rect x="${x(s).toFixed(1)}" y="${ly}" width="${Math.max(0.5, x(st) - x(s)).toFixed(1)}" height="${rowH - 3}" fill="${COLORS.QUEUED}" opacity="0.35"/>` +
          `<rect x="${x(st).toFixed(1)}" y="${ly}" width="${Math.max(1, x(e) - x(st)).toFixed(1)}" height="${rowH - 3}" fill="${COLORS[t.state] ?? '#888'}"/></g>`,
      );
    }
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
.bar{height:10px}figure{display:inline-block;margin:0 16px 16px 0;vertical-align:top}figcaption{font-weight:600;margin-bottom:4px}
</style></head><body>
<h1>rhapsody run ${esc(run.session ?? '(unknown session)')}</h1>
<p id="meta">${run.tasks.length} tasks · ${ms(run.end - run.start)} · ${new Date(run.start).toISOString()}</p>
${warn.map((w) => `<p class="note">${esc(w)}</p>`).join('')}
<h2>States</h2><table id="states">${stateRows}</table>
<h2>Timeline</h2><p class="axis">one row per concurrently running task, grouped by backend / node / GPU; pale = queued, solid = running</p>
${timeline(run)}
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
