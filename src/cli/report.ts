import { readFile, writeFile } from 'node:fs/promises';
import { renderReport } from '../report/report-html.js';
import { parseRun } from '../report/report-model.js';
import { strOption, type Command } from './command.js';

export const reportCommand: Command = {
  name: 'report',
  summary: 'turn a telemetry checkpoint (JSONL) into a self-contained HTML report',
  positionals: [{ name: 'RUN.jsonl', description: 'the checkpoint written by session.startTelemetry({ checkpointPath })', required: true }],
  options: {
    output: { type: 'string', short: 'o', value: 'FILE.html', description: 'where to write the report', default: 'RUN.html beside the input' },
  },
  async run({ values, positionals }) {
    const input = positionals[0]!;
    const run = parseRun(await readFile(input, 'utf8'));
    const out = strOption(values, 'output') ?? `${input.replace(/\.jsonl?$/, '')}.html`;
    await writeFile(out, renderReport(run));
    console.log(`${out}: ${run.tasks.length} tasks${run.edges.length ? `, ${run.edges.length} edges` : ''}${run.badLines ? `, ${run.badLines} unreadable line(s) skipped` : ''}`);
    return 0;
  },
};
