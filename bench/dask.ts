// DaskExecutionBackend beside Dask's own Python client on the same LocalCluster (2 single-threaded
// workers), measured in the same run: `npx tsx bench/dask.ts` prints a table.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { ComputeTask, DaskExecutionBackend, Session } from '../src/index.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const N_EXEC = 500;
const N_FN = 5_000;
const N_SEQ = 50;

const dask = await DaskExecutionBackend.create({ resources: { nWorkers: 2, threadsPerWorker: 1 }, python: '/usr/bin/python3' });
const session = new Session({ backends: [dask] });
const address = dask.schedulerAddress!;
const floor = async (c: string, n: number): Promise<number> => {
  const { stdout } = await promisify(execFile)('/usr/bin/python3', [`${here}dask_floor.py`, address, c, String(n)], { encoding: 'utf8' });
  return JSON.parse(stdout.trim().split('\n').at(-1)!).value;
};

async function rate(make: (i: number) => ComputeTask, n: number): Promise<number> {
  const tasks = Array.from({ length: n }, (_, i) => make(i));
  const t = performance.now();
  await session.submitTasks(tasks);
  try {
    await session.waitTasks(tasks, { timeout: 600_000 });
  } catch (err) {
    // a stuck phase says why (the client process's recent stderr: Dask's own log)
    process.stderr.write(`${(dask as unknown as { client: { stderrTail: string } }).client.stderrTail}\n`);
    throw err;
  }
  const bad = tasks.find((x) => x.state !== 'DONE');
  if (bad) throw new Error(`${bad.uid} ${bad.state}: ${bad.exception?.message}`);
  return n / ((performance.now() - t) / 1000);
}

async function p50(n: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    const task = new ComputeTask({ function: { python: 'operator:add' }, args: [i, 1] });
    await session.submitTasks([task]);
    await task;
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(n / 2)]!;
}

const log = (m: string) => process.stderr.write(`${new Date().toISOString()} ${m}\n`);
const exe = () => new ComputeTask({ executable: '/bin/true' });
const fn = (i: number) => new ComputeTask({ function: { python: 'operator:add' }, args: [i, 1] });
// warm both sides (imports, worker pools, connections)
log('warm');
await rate(exe, 20);
log('warm fn');
await rate(fn, 200);
log('warm floor');
await floor('functions', 200);

log('fn');
const fnRate = await rate(fn, N_FN);
log('fn floor');
const fnFloor = await floor('functions', N_FN);
log('exec');
const exec = await rate(exe, N_EXEC);
log('exec floor');
const execFloor = await floor('exec', N_EXEC);
log('seq');
const seq = await p50(N_SEQ);
log('seq floor');
const seqFloor = await floor('latency', N_SEQ);
const r = { exec, execFloor, fn: fnRate, fnFloor, seq, seqFloor };
await session.close();

const f = (x: number, d = 0) => x.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
console.table([
  {
    benchmark: `${N_EXEC} /bin/true, 2 workers × 1 thread`,
    rhapsody: `${f(r.exec)}/s`,
    floor: `${f(r.execFloor)}/s (client.map, Python)`,
    ratio: f(r.exec / r.execFloor, 2),
    target: '≥ 0.7',
    met: r.exec / r.execFloor >= 0.7,
  },
  {
    benchmark: `${f(N_FN)} trivial Python callables`,
    rhapsody: `${f(r.fn)}/s`,
    floor: `${f(r.fnFloor)}/s (client.map, Python)`,
    ratio: f(r.fn / r.fnFloor, 2),
    target: '≥ 0.7',
    met: r.fn / r.fnFloor >= 0.7,
  },
  {
    benchmark: `sequential pipeline, p50 of ${N_SEQ}`,
    rhapsody: `${f(r.seq, 1)} ms`,
    floor: `${f(r.seqFloor, 1)} ms (submit().result())`,
    ratio: f(r.seqFloor / r.seq, 2),
    target: 'reported',
    met: true,
  },
]);
