// A value passed between two tasks on the `threads` backend: where the time goes. For a Float64Array
// and an array of small objects of about 1 KiB, 1 MiB and 16 MiB, the median ms of:
// - chain:     producer (makes the value on a worker) → consumer (takes it as its argument, returns
//              its length), one batch;
// - producer:  the producer alone (worker → host: made, checked, cloned back, stdout computed), and
//              the size of the stdout string it keeps (the JSON text of the value);
// - consumer:  the consumer alone with the same value made on the host (host → worker: the plain
//              structured-clone floor of that value through rhapsody, what the chain pays a second time);
// - raw floors on a bare worker (no runtime): postMessage the value to it (it answers the length),
//   and have it make the value and post it back;
// - host-side pieces: structuredClone (one clone in one thread: what the worker's `cloneable` check
//   costs), JSON.stringify (what `stdoutOf` does to an object result), v8.serialize / v8.deserialize
//   (the parts of a clone a shared-buffer handoff would still pay).
import { serialize, deserialize } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { ComputeTask, ConcurrentExecutionBackend, Session } from '../src/index.js';

type Kind = 'f64' | 'objects';
const SIZES: Array<[string, number]> = [
  ['1KiB', 1 << 10],
  ['1MiB', 1 << 20],
  ['16MiB', 1 << 24],
];
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

/** The value, made the same way on the host and on a worker (a function shipped by its source). */
function make(kind: 'f64' | 'objects', bytes: number): Float64Array | Array<{ id: number; v: number }> {
  // a { id, v } object is about 32 bytes of payload in a clone
  if (kind === 'f64') return new Float64Array(bytes / 8).fill(1.5);
  return Array.from({ length: bytes / 32 }, (_, id) => ({ id, v: id * 0.5 }));
}
const consume = (v: { length: number }) => v.length;

async function time(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** A bare worker: 'to' answers the length of what it gets; 'from' makes the value and posts it. */
function rawWorker(): { ask: (msg: unknown) => Promise<unknown>; close: () => Promise<number> } {
  const src = `const { parentPort } = require('node:worker_threads');
    const make = ${make.toString()};
    parentPort.on('message', (m) => parentPort.postMessage(m.op === 'to' ? m.value.length : make(m.kind, m.bytes)));`;
  const w = new Worker(src, { eval: true });
  return {
    ask: (msg) =>
      new Promise((resolve) => {
        w.once('message', resolve);
        w.postMessage(msg);
      }),
    close: () => w.terminate(),
  };
}

export async function graphValuesBench(): Promise<Record<string, number>> {
  const backend = await ConcurrentExecutionBackend.create({ executor: 'threads', maxWorkers: 2 });
  const session = new Session({ backends: [backend] });
  const raw = rawWorker();
  const out: Record<string, number> = {};
  const run = async (tasks: ComputeTask[]) => {
    await session.submitTasks(tasks);
    await session.waitTasks(tasks);
    if (tasks.some((t) => t.state !== 'DONE')) throw new Error(`${tasks.find((t) => t.state !== 'DONE')!.exception}`);
    return tasks.at(-1)!.returnValue;
  };
  for (const kind of ['f64', 'objects'] as Kind[]) {
    for (const [label, bytes] of SIZES) {
      const reps = bytes >= 1 << 24 ? 3 : bytes >= 1 << 20 ? 7 : 15;
      const m: Record<string, number[]> = { stdoutMiB: [], chain: [], producer: [], consumer: [], rawTo: [], rawFrom: [], clone: [], json: [], ser: [], deser: [] };
      const host = make(kind, bytes);
      const n = host.length;
      for (let i = 0; i < reps + 2; i++) {
        const keep = i >= 2; // 2 warm-up rounds
        const add = (k: string, ms: number) => keep && m[k]!.push(ms);
        add(
          'chain',
          await time(async () => {
            const p = new ComputeTask({ function: make, args: [kind, bytes] });
            if ((await run([p, new ComputeTask({ function: consume, args: [p] })])) !== n) throw new Error('chain: wrong length');
          }),
        );
        const producer = new ComputeTask({ function: make, args: [kind, bytes] });
        add('producer', await time(() => run([producer])));
        add('stdoutMiB', producer.stdout!.length / 2 ** 20); // ASCII: one byte a character, kept on the task
        add('consumer', await time(() => run([new ComputeTask({ function: consume, args: [host] })])));
        add('rawTo', await time(() => raw.ask({ op: 'to', value: host })));
        add('rawFrom', await time(() => raw.ask({ op: 'from', kind, bytes })));
        add('clone', await time(() => structuredClone(host)));
        add('json', await time(() => JSON.stringify(host)));
        let buf: Buffer | undefined;
        add('ser', await time(() => (buf = serialize(host))));
        add('deser', await time(() => deserialize(buf!)));
      }
      for (const [k, xs] of Object.entries(m)) out[`${kind}.${label}.${k}`] = median(xs);
    }
  }
  await raw.close();
  await session.close();
  return { value: out['f64.16MiB.chain']!, ...out };
}
