// npm run bench: runs each case in its own process and prints a table with the floors measured in
// the same run and the ratios. Figures are tasks/s unless said otherwise.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
// `--runs=3`: every case that many times, interleaved (the machine is shared: compare same-run
// figures only), and the median of each figure reported
const runsArg = process.argv.find((a) => a.startsWith('--runs='));
const runs = runsArg ? Math.max(1, Number(runsArg.slice(7))) : 1;
const only = process.argv.slice(2).filter((a) => !a.startsWith('--runs='));

const SLURM_CONF = process.env.SLURM_CONF ?? '/tmp/rhapsody-slurm/etc/slurm.conf';

/** Shell one-liners timed as floors: bare srun in a loop, inside one allocation. */
function shellFloor(caseName: string): Record<string, number> {
  if (caseName !== 'srun-loop') throw new Error(caseName);
  const script = 't0=$(date +%s%N); for i in $(seq 100); do srun -N1 -n1 --overlap --quiet /bin/true; done; echo $(( ($(date +%s%N) - t0) / 100 ))';
  const out = execFileSync('salloc', ['-N', '2', '--quiet', 'bash', '-c', script], { encoding: 'utf8', env: { ...process.env, SLURM_CONF } });
  return { value: Number(out.trim().split('\n').at(-1)) / 1e6 }; // ns → ms per step
}

function run(caseName: string): Record<string, number> {
  if (caseName === 'srun-loop') {
    try {
      return shellFloor(caseName);
    } catch (e) {
      console.error(`case ${caseName} failed (is SLURM up? test/engines/slurm-up.sh): ${(e as Error).message.split('\n')[0]}`);
      return { value: NaN };
    }
  }
  const isPy = caseName.startsWith('py-');
  const slurm = caseName === 'hpc-slurm';
  const cmd = isPy ? 'python3' : slurm ? 'salloc' : process.execPath;
  const nodeArgs = ['--expose-gc', '--import', 'tsx', `${here}cases.ts`, caseName];
  const args = isPy ? [`${here}python_floor.py`, caseName] : slurm ? ['-N', '2', '--quiet', process.execPath, ...nodeArgs] : nodeArgs;
  try {
    const text = execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 24, env: { ...process.env, SLURM_CONF, NODE_OPTIONS: '--max-old-space-size=4096' } });
    return JSON.parse(text.trim().split('\n').at(-1)!);
  } catch (e) {
    console.error(`case ${caseName} failed: ${(e as Error).message.split('\n')[0]}`);
    return { value: NaN };
  }
}

const fmt = (x: number, d = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : 'n/a');
const want = (c: string) => only.length === 0 || only.some((o) => c === o || c.startsWith(`${o}-`));
const all: Record<string, Array<Record<string, number>>> = {};
const CASES = [
  'raw-inline',
  'inline',
  'telemetry-ab',
  'telemetry-sustained',
  'inline-20k',
  'inline-inspect',
  'raw-workers',
  'threads',
  'c-spawn',
  'raw-spawn',
  'exec',
  'exec-node',
  'raw-spawn-heap',
  'exec-heap',
  'exec-heap-node',
  'py-exec',
  'exec-seq',
  'exec-seq-node',
  'py-exec-seq',
  'py-functions',
  'seq-threads',
  'seq-processes',
  'seq-inline',
  'py-seq',
  'py-seq-asyncio',
  'closure-cost',
  'hpc-local',
  'hpc-local-node',
  'raw-spawn-ms',
  'hpc-slurm',
  'srun-loop',
  'distributed',
  'bare-bullmq',
  'naive-actor',
  'memory',
  'llm-embedded',
  'llm-http',
  'graph',
  'graph-inline',
  'graph-threads',
  'graph-values',
];
for (let round = 0; round < runs; round++) {
  for (const c of CASES) {
    if (want(c)) {
      process.stderr.write(`running ${c}${runs > 1 ? ` (${round + 1}/${runs})` : ''}…\n`);
      const result = run(c);
      (all[c] ??= []).push(result);
      process.stderr.write(`  ${c}: ${JSON.stringify(result)}\n`);
    }
  }
}
// failed runs (NaN) are left out of the median
const median = (all: number[]) => {
  const xs = all.filter(Number.isFinite).sort((a, b) => a - b);
  return xs.length ? xs[Math.floor((xs.length - 1) / 2)]! : NaN;
};
const r: Record<string, Record<string, number>> = {};
for (const [c, list] of Object.entries(all)) {
  r[c] = {};
  for (const k of new Set(list.flatMap((x) => Object.keys(x)))) if (k !== 'case') r[c]![k] = median(list.map((x) => Number(x[k])));
  if (runs > 1) process.stderr.write(`${c}: ${list.map((x) => f(x.value ?? NaN, 1)).join(', ')}\n`);
}
function v(c: string): number {
  return r[c]?.value ?? NaN;
}
const ab = (k: string) => r['telemetry-ab']?.[k] ?? NaN;
function f(x: number, d = 0): string {
  return fmt(x, d);
}
const rows = [
  {
    benchmark: '100k trivial functions, inline',
    rhapsody: f(v('inline')),
    floor: `${f(v('raw-inline'))} (plain loop + promise)`,
    ratio: f(v('inline') / v('raw-inline'), 3),
    target: '≥ 40,000/s',
    met: v('inline') >= 40_000,
  },
  {
    benchmark: '100k trivial functions, threads',
    rhapsody: f(v('threads')),
    floor: `${f(v('raw-workers'))} (raw postMessage, 2 workers)`,
    ratio: f(v('threads') / v('raw-workers'), 3),
    target: '≥ 25,000/s',
    met: v('threads') >= 25_000,
  },
  {
    benchmark: '1,000 /bin/true (native spawner)',
    rhapsody: f(v('exec')),
    floor: `${f(v('c-spawn'))} (C posix_spawn, 8 in flight)`,
    ratio: f(v('exec') / v('c-spawn'), 3),
    target: '≥ 0.6× C floor',
    met: v('exec') >= 0.6 * v('c-spawn'),
  },
  {
    benchmark: '1,000 /bin/true vs Python',
    rhapsody: f(v('exec')),
    floor: `${f(v('py-exec'))} (raw Python asyncio subprocesses, vfork, c=8)`,
    ratio: f(v('exec') / v('py-exec'), 3),
    target: '≥ 1.5× Python',
    met: v('exec') >= 1.5 * v('py-exec'),
  },
  {
    benchmark: '1,000 /bin/true, Node spawner (before)',
    rhapsody: f(v('exec-node')),
    floor: `${f(v('raw-spawn'))} (raw child_process.spawn in host, c=8)`,
    ratio: `${f(v('exec') / v('exec-node'), 2)}× native/node`,
    target: 'reference',
    met: true,
  },
  {
    benchmark: '1,000 /bin/true, 1 GiB live heap',
    rhapsody: f(v('exec-heap')),
    floor: `${f(v('exec'))} (no heap, same run); node spawner ${f(v('exec-heap-node'))}`,
    ratio: `${f(v('exec-heap') / v('exec'), 3)} of no-heap`,
    target: 'within 10% of no-heap',
    met: v('exec-heap') >= 0.9 * v('exec'),
  },
  {
    benchmark: 'sequential /bin/true pipeline, p50 µs',
    rhapsody: f(v('exec-seq')),
    floor: `${f(v('py-exec-seq'))} µs (raw Python asyncio, one at a time); node spawner ${f(v('exec-seq-node'))} µs`,
    ratio: f(v('exec-seq') / v('py-exec-seq'), 3),
    target: '≤ 0.7× Python',
    met: v('exec-seq') <= 0.7 * v('py-exec-seq'),
  },
  {
    benchmark: 'inspection on (20k inline)',
    rhapsody: f(v('inline-inspect')),
    floor: `${f(v('inline-20k'))} (inspection off, 20k)`,
    ratio: f(v('inline-inspect') / v('inline-20k'), 3),
    target: 'off costs nothing',
    met: true,
  },
  {
    benchmark: 'telemetry on (events, metrics, spans), 100k inline, median of 3',
    rhapsody: f(ab('events')),
    floor: `${f(ab('off'))} (off, same process)`,
    ratio: f(ab('events') / ab('off'), 3),
    target: '≤ 10% cost',
    met: ab('events') >= 0.9 * ab('off'),
  },
  {
    benchmark: 'telemetry on + JSONL checkpoint, 100k inline, median of 3',
    rhapsody: f(ab('checkpoint')),
    floor: `${f(ab('off'))} (off, same process)`,
    ratio: f(ab('checkpoint') / ab('off'), 3),
    target: '≤ 10% cost',
    met: ab('checkpoint') >= 0.9 * ab('off'),
  },
  {
    benchmark: 'HPC local: 500 two-rank /bin/true jobs, ms per rank',
    rhapsody: f(v('hpc-local'), 2),
    floor: `${f(1000 / v('c-spawn'), 2)} ms (C posix_spawn per process, c=8); node spawner ${f(v('hpc-local-node'), 2)} ms`,
    ratio: f(v('hpc-local') / (1000 / v('c-spawn')), 3),
    target: '≤ 1.1× C floor',
    met: v('hpc-local') <= 1.1 * (1000 / v('c-spawn')),
  },
  {
    benchmark: 'HPC SLURM: 100 single-rank steps in one allocation, ms per step',
    rhapsody: f(v('hpc-slurm'), 1),
    floor: `${f(v('srun-loop'), 1)} ms (bare srun shell loop)`,
    ratio: f(v('hpc-slurm') / v('srun-loop'), 3),
    target: '≤ 1.2×',
    met: v('hpc-slurm') <= 1.2 * v('srun-loop'),
  },
  {
    benchmark: 'distributed: 10k trivial functions, 2 local workers',
    rhapsody: f(v('distributed')),
    floor: `${f(v('bare-bullmq'))} (bare BullMQ producer + 2 workers)`,
    ratio: f(v('distributed') / v('bare-bullmq'), 3),
    target: '≥ 0.7',
    met: v('distributed') >= 0.7 * v('bare-bullmq'),
  },
  {
    benchmark: 'inference: 64 AITasks, embedded engine (8 sequences), wall ms',
    rhapsody: f(v('llm-embedded'), 1),
    floor: `${f(r['llm-embedded']?.direct ?? NaN, 1)} ms (same 64 chats on node-llama-cpp directly)`,
    ratio: f(v('llm-embedded') / (r['llm-embedded']?.direct ?? NaN), 3),
    target: '≤ 1.10×',
    met: v('llm-embedded') <= 1.1 * (r['llm-embedded']?.direct ?? NaN),
  },
  {
    benchmark: 'inference: 64 AITasks over HTTP (serve-model, in-flight 32), tasks/s',
    rhapsody: f(v('llm-http'), 1),
    floor: `${f(r['llm-http']?.bare ?? NaN, 1)} (bare fetch loop, 32 at once)`,
    ratio: f(v('llm-http') / (r['llm-http']?.bare ?? NaN), 3),
    target: '≥ 0.8',
    met: v('llm-http') >= 0.8 * (r['llm-http']?.bare ?? NaN),
  },
  {
    benchmark: 'sequential trivial function, threads, p50 µs',
    rhapsody: f(v('seq-threads'), 1),
    floor: `${f(v('py-seq'), 1)} µs (Python ThreadPoolExecutor submit().result(), same run)`,
    ratio: f(v('seq-threads') / v('py-seq'), 3),
    target: '≤ 0.7×',
    met: v('seq-threads') <= 0.7 * v('py-seq'),
  },
  {
    benchmark: 'sequential trivial function, threads, p50 µs, vs Python asyncio',
    rhapsody: f(v('seq-threads'), 1),
    floor: `${f(v('py-seq-asyncio'), 1)} µs (Python await loop.run_in_executor, as Python RHAPSODY; same run)`,
    ratio: f(v('seq-threads') / v('py-seq-asyncio'), 3),
    target: '≤ 0.7×',
    met: v('seq-threads') <= 0.7 * v('py-seq-asyncio'),
  },
  ...(['inline', 'threads'] as const).flatMap((e) => {
    const g = r[`graph-${e}`];
    if (!g) return [];
    return [
      {
        benchmark: `task graph, 10k tasks / ${f(g.edges!)} edges in one batch, ${e}: µs per edge`,
        rhapsody: f(g.value!, 1),
        floor: `${f(g.plainUs!, 1)} µs a plain task (10k, same process); graph wall ${f(g.graphMs!)} ms; fan-out/fan-in alone ${f(g.fanEdgeUs!, 1)} µs/edge`,
        ratio: f(g.value! / g.plainUs!, 3),
        target: '≤ 1 plain task per edge',
        met: g.value! <= g.plainUs!,
      },
      {
        benchmark: `task graph, 1,000-long chain, ${e}: µs per link`,
        rhapsody: f(g.chainLinkUs!, 1),
        floor: `${f(g.seqUs!, 1)} µs (submit + await one plain task at a time, same process)`,
        ratio: f(g.chainLinkUs! / g.seqUs!, 3),
        target: '≤ 1× sequential await',
        met: g.chainLinkUs! <= g.seqUs!,
      },
      {
        benchmark: `task graph heap after GC, ${e}: settled, caller dropped the tasks (MiB)`,
        rhapsody: f(g.heapDroppedMiB!, 2),
        floor: `before ${f(g.heapBeforeMiB!, 1)} MiB; +${f(g.heapHeldMiB!, 1)} held after submit, +${f(g.heapSettledMiB!, 1)} settled with the tasks held`,
        ratio: '',
        target: '< 1 MiB (nothing kept)',
        met: g.heapDroppedMiB! < 1,
      },
    ];
  }),
  { benchmark: 'sequential trivial function, processes / inline, p50 µs', rhapsody: `${f(v('seq-processes'), 1)} / ${f(v('seq-inline'), 1)}`, floor: '', ratio: '', target: '', met: true },
  {
    benchmark: 'Python thread pool (reference)',
    rhapsody: '',
    floor: `${f(v('py-functions'))} functions/s`,
    ratio: `${f(v('threads') / v('py-functions'), 1)}× (threads)`,
    target: 'beat it',
    met: v('threads') > v('py-functions'),
  },
];
console.table(rows);
if (r['naive-actor']) {
  const inlineUs = 1e6 / v('inline');
  console.log(
    `lifecycle cost: naive XState actor per task ${f(r['naive-actor'].usPerTask!, 1)} µs + ${f(r['naive-actor'].bytesPerTask!)} B live; rhapsody end to end ${f(inlineUs, 1)} µs/task inline (validation, routing, future, execution, statistics)`,
  );
}
if (r['telemetry-sustained']) {
  const m = r['telemetry-sustained'];
  console.log(
    `telemetry sustained: ${f(m.eventsPerSecond!)} events/s for 10 s into the checkpoint (${f(m.checkpointMiB!, 1)} MiB); live heap after GC ${f(m.heapFirstMiB!, 1)} MiB after 1 s → ${f(m.heapLastMiB!, 1)} MiB at the end (max ${f(m.heapMaxMiB!, 1)})`,
  );
}
if (r.distributed && r['bare-bullmq']) {
  const d = r.distributed,
    b = r['bare-bullmq'];
  console.log(`distributed latency (submit → result): rhapsody p50 ${f(d.p50!, 1)} ms, p99 ${f(d.p99!, 1)} ms; bare BullMQ p50 ${f(b.p50!, 1)} ms, p99 ${f(b.p99!, 1)} ms`);
}
if (r['closure-cost']) {
  const c = r['closure-cost'];
  console.log(
    `closure shipping at submit: ${f(c.value!, 1)} µs per fresh closure object with captures (inspector), ${f(c.noCaptureUs!, 2)} µs for one that references nothing outside, ${f(c.cachedUs!, 2)} µs for one seen before`,
  );
}
if (r.graph) {
  const g = r.graph;
  const plain = Number.isFinite(v('inline')) ? `; a plain task end to end ${f(1e6 / v('inline'), 1)} µs inline` : '';
  console.log(
    `task graph: ${f(g.tasks!)} tasks, ${f(g.edges!)} edges (1,000-long chain, 8,998-wide fan-out/fan-in): tracker ${f(g.value!, 3)} µs/edge (add + settle DONE), failure propagation ${f(g.failUsPerEdge!, 3)} µs/edge, extraction ${f(g.extractUsPerEdge!, 3)} µs/edge, batch validation (extraction + cycle check) ${f(g.validateUsPerEdge!, 3)} µs/edge${plain}; heap after GC ${f(g.heapHeldKiB!, 0)} KiB held (${f(g.bytesPerEdge!, 0)} B/edge), ${f(g.heapAfterSettledKiB!, 0)} KiB after it settled`,
  );
}
if (r['graph-values']) {
  const g = r['graph-values'];
  const k = (kind: string, size: string, what: string) => g[`${kind}.${size}.${what}`] ?? NaN;
  console.log('value passed between two tasks on threads (ms, median): chain = producer → consumer; producer = made on a worker, returned; consumer = the value made on the host, sent to a worker');
  console.table(
    ['f64', 'objects'].flatMap((kind) =>
      ['1KiB', '1MiB', '16MiB'].map((size) => ({
        value: `${kind === 'f64' ? 'Float64Array' : '{id, v}[]'} ${size}`,
        chain: f(k(kind, size, 'chain'), 2),
        producer: f(k(kind, size, 'producer'), 2),
        consumer: f(k(kind, size, 'consumer'), 2),
        'raw to worker': f(k(kind, size, 'rawTo'), 2),
        'raw from worker': f(k(kind, size, 'rawFrom'), 2),
        structuredClone: f(k(kind, size, 'clone'), 2),
        'JSON.stringify': f(k(kind, size, 'json'), 2),
        'v8.serialize': f(k(kind, size, 'ser'), 2),
        'v8.deserialize': f(k(kind, size, 'deser'), 2),
        'stdout MiB': f(k(kind, size, 'stdoutMiB'), 1),
      })),
    ),
  );
}
if (r.memory) {
  const m = r.memory;
  console.log(
    `memory: 1,000,000 inline tasks in batches of 10,000 (caller drops them): peak RSS ${f(m.peakRssAt100kMiB!, 0)} MiB at 100k, ${f(m.peakRssAt1MMiB!, 0)} MiB at 1M; live heap after GC ${f(m.heapAt100kMiB!, 1)} MiB at 100k, ${f(m.heapAt1MMiB!, 1)} MiB at 1M; ${f(m.tasksPerSecond!)} tasks/s; DONE ${f(m.done!)}`,
  );
}
// Dask (bench/dask.ts: real LocalClusters beside Dask's own client.map from Python, same run); its
// own table. Only when asked for (`npm run bench -- dask`): it starts Dask clusters for minutes.
if (only.includes('dask')) {
  process.stderr.write('running dask…\n');
  try {
    execFileSync(process.execPath, ['--import', 'tsx', `${here}dask.ts`], { stdio: 'inherit' });
  } catch (e) {
    console.error(`case dask failed: ${(e as Error).message.split('\n')[0]}`);
  }
}
