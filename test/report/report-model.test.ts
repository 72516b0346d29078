// Reading checkpoints back: one written before the graph fields existed still reads (a retried task's
// attempts are inferred from its events), a large graph is counted instead of drawn, a run cut while a
// task runs shows that attempt as running.
import { describe, expect, it } from 'vitest';
import { parseRun, renderReport } from '../../src/report.js';

// written by the session before task.retrying, dependencies and attempt numbers were recorded
// (lines of a real run, times shifted: a dependency failure, a task retried twice)
const OLD = `{"type":"session.started","t":1000,"session":"old"}
{"type":"task.created","t":1010,"uid":"gate","backend":null}
{"type":"task.submitted","t":1010,"uid":"gate","backend":"inline"}
{"type":"task.created","t":1010,"uid":"dep","backend":null}
{"type":"task.submitted","t":1011,"uid":"dep","backend":"inline"}
{"type":"task.created","t":1011,"uid":"flaky","backend":null}
{"type":"task.submitted","t":1011,"uid":"flaky","backend":"inline"}
{"type":"task.queued","t":1011,"uid":"gate","backend":"inline"}
{"type":"task.started","t":1012,"uid":"gate","backend":"inline"}
{"type":"task.failed","t":1224,"uid":"gate","backend":"inline","exitCode":3,"error":"Task gate (/bin/sh) exited with code 3"}
{"type":"task.failed","t":1226,"uid":"dep","backend":"inline","exitCode":null,"error":"Task dep: dependency gate failed"}
{"type":"task.queued","t":1226,"uid":"flaky","backend":"inline"}
{"type":"task.started","t":1226,"uid":"flaky","backend":"inline"}
{"type":"task.queued","t":1234,"uid":"flaky","backend":"inline"}
{"type":"task.started","t":1265,"uid":"flaky","backend":"inline"}
{"type":"task.queued","t":1266,"uid":"flaky","backend":"inline"}
{"type":"task.started","t":1327,"uid":"flaky","backend":"inline"}
{"type":"task.completed","t":1327,"uid":"flaky","backend":"inline","exitCode":null}
{"type":"session.ended","t":1336,"session":"old","counts":{"DONE":1,"FAILED":2}}
`;

describe('report model', () => {
  it('reads a checkpoint written before the graph fields: no edges, attempts inferred from the events', () => {
    const run = parseRun(OLD);
    expect([run.badLines, run.ended, run.edges]).toEqual([0, true, []]);
    const flaky = run.tasks.find((t) => t.uid === 'flaky')!;
    expect(flaky.attempts.map((a) => [a.n, a.started, a.ended, a.outcome])).toEqual([
      [1, 1226, 1234, 'requeued'],
      [2, 1265, 1266, 'requeued'],
      [3, 1327, 1327, 'DONE'],
    ]);
    expect([flaky.started, flaky.queued, flaky.waited, flaky.dependencies]).toEqual([1327, 1226, false, []]);
    const html = renderReport(run);
    expect(html).not.toContain('id="graph"');
    expect(html.match(/data-attempt-row="flaky"/g)).toHaveLength(3);
    expect(html).toContain('2 retries over 1 tasks');
  });

  it('counts a graph of more than 200 tasks instead of drawing it', () => {
    const lines = ['{"type":"session.started","t":0,"session":"big"}'];
    for (let i = 0; i < 250; i++) {
      const deps = i === 0 ? '' : `,"dependencies":["c${i - 1}"],"pendingReason":"dependencies"`;
      lines.push(`{"type":"task.submitted","t":${i},"uid":"c${i}","backend":"inline"${deps}}`, `{"type":"task.completed","t":${1000 + i},"uid":"c${i}","backend":"inline","exitCode":0}`);
    }
    const run = parseRun(lines.join('\n'));
    expect(run.edges).toHaveLength(249);
    const html = renderReport(run);
    expect(html).toContain('250 tasks in the graph · 249 edges (dependency → dependent); not drawn: more than 200 tasks');
    expect(html).not.toContain('class="edge');
    // at 200 it is drawn
    const small = parseRun(lines.slice(0, 1 + 2 * 200).join('\n'));
    expect(renderReport(small).match(/class="edge"/g)).toHaveLength(199);
  });

  it('a run cut while a retried task runs shows that attempt as running', () => {
    const cut = OLD.slice(0, OLD.indexOf('{"type":"task.completed"'));
    const run = parseRun(`${cut}{"type":"task.sta`);
    const flaky = run.tasks.find((t) => t.uid === 'flaky')!;
    expect([run.badLines, run.ended, flaky.state]).toEqual([1, false, 'RUNNING']);
    expect(flaky.attempts.at(-1)).toMatchObject({ n: 3, ended: null, outcome: null });
    expect(renderReport(run)).toContain('attempt 3 · running');
  });
});
