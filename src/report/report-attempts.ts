import type { RunModel } from './report-model.js';
import { COLORS, esc, ms } from './report-common.js';

/** Rows listed at most (the rest are counted). */
const MAX_ROWS = 500;

/**
 * Tasks that ran more than once, one row per attempt (its number, start and end relative to the
 * first task event, outcome, error), and tasks failed by a dependency, naming it. Empty when there
 * are none.
 */
export function attemptsSection(run: RunModel, t0: number): string {
  const listed = run.tasks.filter((t) => t.attempts.length > 1 || t.dependencyUid !== null);
  if (listed.length === 0) return '';
  const rel = (v: number | null) => (v === null ? '—' : ms(v - t0));
  const rows: string[] = [];
  for (const t of listed.slice(0, MAX_ROWS)) {
    if (t.dependencyUid !== null) {
      rows.push(
        `<tr data-dependency-failure="${esc(t.uid)}"><td>${esc(t.uid)}</td><td>—</td><td>—</td><td>${rel(t.ended)}</td><td><span class="dot" style="background:${COLORS.FAILED}"></span>failed by dependency ${esc(t.dependencyUid)}</td><td>${esc(t.error ?? '')}</td></tr>`,
      );
      continue;
    }
    for (const a of t.attempts) {
      const outcome = a.outcome ?? 'running';
      const color = COLORS[a.outcome === 'retried' || a.outcome === 'requeued' ? 'RETRIED' : (a.outcome ?? 'RUNNING')];
      const next = a.delayMs !== null ? ` (next after ${ms(a.delayMs)})` : '';
      rows.push(
        `<tr data-attempt-row="${esc(t.uid)}" data-attempt="${a.n}"><td>${esc(t.uid)}</td><td>${a.n}</td><td>${rel(a.started)}</td><td>${rel(a.ended)}</td><td><span class="dot" style="background:${color}"></span>${outcome}${next}</td><td>${esc(a.error ?? '')}</td></tr>`,
      );
    }
  }
  const more = listed.length > MAX_ROWS ? `<p class="note">${listed.length - MAX_ROWS} more tasks not listed.</p>` : '';
  return (
    '<h2>Attempts and dependency failures</h2><p class="axis">tasks that ran more than once (one row per attempt; times from the first task event) and tasks failed by a dependency</p>' +
    `<table id="attempts"><tr><th>task</th><th>attempt</th><th>start</th><th>end</th><th>outcome</th><th>error</th></tr>${rows.join('')}</table>${more}`
  );
}
