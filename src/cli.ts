#!/usr/bin/env node
// The `rhapsody` command: report, machines, inspect, worker, serve-model, tiny-model.
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { startInspectorServer } from '../actors/inspector-relay.js';
import { backendMachine, inferenceRequestMachine, modelServiceMachine, processGroupMachine, rankMachine, sessionMachine, taskMachine, waitMachine } from '../machines/index.js';
import { parseRun } from './report/report-model.js';
import { renderReport } from './report/report-html.js';
import { startDistributedWorker } from './distributed/distributed-worker.js';
import { parseResources } from './distributed/protocol.js';

const USAGE = `usage:
  rhapsody report RUN.jsonl [-o report.html]   turn a telemetry checkpoint into a self-contained HTML report
  rhapsody worker --connection redis://H:P [--resources GPU=1,CPU=4] [--concurrency N] [--prefix P]
                                                run a worker for DistributedExecutionBackend
  rhapsody serve-model --model FILE.gguf [--port 8000] [--host 127.0.0.1] [--parallel 8] [--context-size 4096]
                    [--threads N] [--model-name NAME]
                                                an OpenAI-compatible server over the embedded engine
                                                (needs node-llama-cpp@3.21.1)
  rhapsody tiny-model OUT.gguf                  write the tiny deterministic test model (~0.6 MB)
  rhapsody machines                             print the state machine definitions as JSON (Stately Studio)
  rhapsody inspect [--port 8080] [--host 127.0.0.1]
                                                run a local inspector relay; connect a session with
                                                createWebSocketInspector({ url: 'ws://127.0.0.1:8080' })`;

/**
 * A long-running command: SIGINT / SIGTERM close it and exit. A close that cannot finish (its Redis
 * gone, …) does not keep the process: it exits anyway after 10 s. Returns the stop function.
 */
function untilSignal(close: () => Promise<unknown>): () => void {
  const stop = () => {
    setTimeout(() => process.exit(1), 10_000).unref();
    void close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return stop;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === 'report') {
    const { values, positionals } = parseArgs({ args: rest, allowPositionals: true, options: { output: { type: 'string', short: 'o' } } });
    const input = positionals[0];
    if (!input) throw new Error('report: which checkpoint file?');
    const run = parseRun(await readFile(input, 'utf8'));
    const out = values.output ?? input.replace(/\.jsonl?$/, '') + '.html';
    await writeFile(out, renderReport(run));
    console.log(`${out}: ${run.tasks.length} tasks${run.badLines ? `, ${run.badLines} unreadable line(s) skipped` : ''}`);
    return 0;
  }
  if (command === 'machines') {
    const defs = Object.fromEntries([taskMachine, backendMachine, sessionMachine, waitMachine, processGroupMachine, rankMachine, inferenceRequestMachine, modelServiceMachine].map((m) => [m.id, m.definition]));
    console.log(JSON.stringify(defs, null, 2));
    return 0;
  }
  if (command === 'worker') {
    const { values } = parseArgs({
      args: rest,
      options: { connection: { type: 'string' }, prefix: { type: 'string' }, resources: { type: 'string' }, concurrency: { type: 'string' }, executor: { type: 'string' } },
    });
    if (!values.connection) throw new Error('worker: --connection redis://host:port is required');
    const worker = await startDistributedWorker({
      connection: values.connection,
      prefix: values.prefix,
      resources: parseResources(values.resources),
      concurrency: values.concurrency ? Number(values.concurrency) : undefined,
      executor: values.executor as 'threads' | 'processes' | 'inline' | undefined,
    });
    if (process.stderr.isTTY) console.error(`rhapsody worker ${worker.id} on ${values.connection} (${values.resources ?? 'no resources'})`);
    const stop = untilSignal(() => worker.close());
    // started by a LocalCluster: go when the backend's process goes, even if it could not stop us
    if (process.connected) {
      process.channel?.unref();
      process.once('disconnect', stop);
    }
    return new Promise<number>(() => undefined);
  }
  if (command === 'serve-model') {
    const { values } = parseArgs({
      args: rest,
      options: {
        model: { type: 'string' }, port: { type: 'string' }, host: { type: 'string' }, parallel: { type: 'string' },
        'context-size': { type: 'string' }, threads: { type: 'string' }, 'model-name': { type: 'string' },
      },
    });
    if (!values.model) throw new Error('serve-model: --model FILE.gguf is required');
    const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
    const { startModelServer } = await import('./inference/model-server.js');
    const server = await startModelServer({
      modelPath: values.model, port: num(values.port) ?? 8000, host: values.host, parallel: num(values.parallel),
      contextSize: num(values['context-size']), threads: num(values.threads), modelName: values['model-name'],
    });
    console.log(`serving ${server.modelName} on ${server.endpoint}`);
    untilSignal(() => server.close());
    return new Promise<number>(() => undefined);
  }
  if (command === 'tiny-model') {
    const out = rest[0];
    if (!out) throw new Error('tiny-model: where to write it? (rhapsody tiny-model OUT.gguf)');
    const { writeTinyModel } = await import('./inference/tiny-model.js');
    const m = writeTinyModel(out);
    console.log(`${m.path}: ${m.bytes} bytes, ${m.vocabulary} tokens`);
    return 0;
  }
  if (command === 'inspect') {
    const { values } = parseArgs({ args: rest, options: { port: { type: 'string' }, host: { type: 'string' } } });
    const server = await startInspectorServer({ port: values.port ? Number(values.port) : 8080, host: values.host });
    console.log(`inspector relay on ${server.url} — open ${server.pageUrl} in a browser`);
    untilSignal(() => server.close());
    return new Promise<number>(() => undefined);
  }
  console.error(USAGE);
  return command === undefined || command === '--help' || command === '-h' ? 0 : 2;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(`rhapsody: ${err.message}`);
    process.exit(1);
  },
);
