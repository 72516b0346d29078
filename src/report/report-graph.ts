import type { ReportEdge, ReportTask, RunModel } from './report-model.js';
import { COLORS, esc } from './report-common.js';

/** Graphs with more tasks than this are summarised, not drawn (the page must stay readable). */
export const MAX_GRAPH_NODES = 200;

const W = 132;
const H = 22;
const COL = W + 56;
const ROW = H + 10;

interface Node {
  uid: string;
  task: ReportTask | undefined;
  depth: number;
  row: number;
}

/**
 * Layers by depth (a task is one layer right of its deepest dependency; Kahn's order, so a corrupt
 * file with a cycle still terminates: what is left goes one layer past the last), then orders each
 * layer by the mean row of its dependencies (one barycentre pass: fewer crossings, no search).
 */
function layout(uids: string[], edges: ReportEdge[], byUid: Map<string, ReportTask>): Node[][] {
  const nodes = new Map<string, Node>(uids.map((uid) => [uid, { uid, task: byUid.get(uid), depth: 0, row: 0 }]));
  const into = new Map<string, string[]>();
  const out = new Map<string, string[]>();
  const indegree = new Map<string, number>(uids.map((u) => [u, 0]));
  for (const { from, to } of edges) {
    (into.get(to) ?? into.set(to, []).get(to)!).push(from);
    (out.get(from) ?? out.set(from, []).get(from)!).push(to);
    indegree.set(to, indegree.get(to)! + 1);
  }
  const ready = uids.filter((u) => indegree.get(u) === 0);
  const seen = new Set<string>();
  for (let i = 0; i < ready.length; i++) {
    const u = ready[i]!;
    seen.add(u);
    const d = nodes.get(u)!.depth;
    for (const v of out.get(u) ?? []) {
      const n = nodes.get(v)!;
      n.depth = Math.max(n.depth, d + 1);
      indegree.set(v, indegree.get(v)! - 1);
      if (indegree.get(v) === 0) ready.push(v);
    }
  }
  const deepest = Math.max(0, ...[...nodes.values()].map((n) => n.depth));
  for (const n of nodes.values()) if (!seen.has(n.uid)) n.depth = deepest + 1;
  const layers: Node[][] = [];
  for (const n of nodes.values()) (layers[n.depth] ??= []).push(n);
  for (const layer of layers) {
    if (!layer) continue;
    const key = (n: Node) => {
      const rows = (into.get(n.uid) ?? [])
        .map((u) => nodes.get(u)!)
        .filter((p) => p.depth < n.depth)
        .map((p) => p.row);
      return rows.length ? rows.reduce((a, b) => a + b, 0) / rows.length : n.row;
    };
    const keys = new Map(layer.map((n) => [n, key(n)]));
    layer.sort((a, b) => keys.get(a)! - keys.get(b)!);
    layer.forEach((n, i) => {
      n.row = i;
    });
  }
  return layers.filter(Boolean);
}

/**
 * The task graph: for up to MAX_GRAPH_NODES tasks an SVG DAG, laid out in layers by depth, nodes
 * coloured by final state, one edge (`<path class="edge">`) per dependency → dependent; an edge along
 * which a dependency failure travelled is red and dashed. Larger graphs: the counts only.
 */
export function graphSection(run: RunModel): string {
  if (run.edges.length === 0) return '';
  const uids = [...new Set(run.edges.flatMap((e) => [e.from, e.to]))];
  const head = `<h2>Task graph</h2><p id="graph-summary">${uids.length} tasks in the graph · ${run.edges.length} edges (dependency → dependent)`;
  if (uids.length > MAX_GRAPH_NODES) return `${head}; not drawn: more than ${MAX_GRAPH_NODES} tasks</p>`;
  const byUid = new Map(run.tasks.map((t) => [t.uid, t]));
  const layers = layout(uids, run.edges, byUid);
  const at = new Map<string, Node>(layers.flat().map((n) => [n.uid, n]));
  const x = (n: Node) => 10 + n.depth * COL;
  const y = (n: Node) => 10 + n.row * ROW;
  const width = 20 + (Math.max(...layers.map((l) => l[0]!.depth)) + 1) * COL - (COL - W);
  const height = 20 + Math.max(...layers.map((l) => l.length)) * ROW - (ROW - H);
  const edges = run.edges
    .map(({ from, to }) => {
      const a = at.get(from)!;
      const b = at.get(to)!;
      const x1 = x(a) + W;
      const y1 = y(a) + H / 2;
      const x2 = x(b);
      const y2 = y(b) + H / 2;
      const mid = (x1 + x2) / 2;
      const failed = b.task?.dependencyUid === from;
      return `<path class="edge${failed ? ' failed' : ''}" data-from="${esc(from)}" data-to="${esc(to)}" d="M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2 - 4},${y2}" marker-end="url(#${failed ? 'arrow-failed' : 'arrow'})"/>`;
    })
    .join('');
  const nodes = [...at.values()]
    .map((n) => {
      const t = n.task;
      const state = t?.state ?? 'unknown';
      const color = COLORS[state] ?? '#bbbbbb';
      const tries = t && t.attempts.length > 1 ? ` ×${t.attempts.length}` : '';
      const label = n.uid.length > 17 - tries.length ? `${n.uid.slice(0, 16 - tries.length)}…` : n.uid;
      const title = `${n.uid} · ${t ? state : 'not in this checkpoint'}${t?.attempts.length ? ` · ${t.attempts.length} attempt(s)` : ''}${t?.dependencyUid ? ` · dependency ${t.dependencyUid} failed` : ''}${t?.error ? ` · ${t.error}` : ''}`;
      const depFailed = t?.dependencyUid ? ' dep-failed' : '';
      return (
        `<g class="node${depFailed}" data-node="${esc(n.uid)}" data-state="${state}"><title>${esc(title)}</title>` +
        `<rect x="${x(n)}" y="${y(n)}" width="${W}" height="${H}" rx="4" fill="${color}" fill-opacity="0.25" stroke="${color}"${depFailed ? ' stroke-dasharray="4 2"' : ''}/>` +
        `<text x="${x(n) + 6}" y="${y(n) + 15}">${esc(label + tries)}</text></g>`
      );
    })
    .join('');
  const arrow = (id: string, color: string) =>
    `<marker id="${id}" viewBox="0 0 8 8" refX="4" refY="4" markerWidth="8" markerHeight="8" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="${color}"/></marker>`;
  return (
    `${head}; nodes coloured by final state, a dashed outline for a task failed by its dependency (red edge), ×n for its attempts</p>` +
    `<div class="graph"><svg id="graph" width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg"><defs>${arrow('arrow', '#777')}${arrow('arrow-failed', COLORS.FAILED!)}</defs>${edges}${nodes}</svg></div>`
  );
}
