// @ts-check
// Runs one function rank of an HPC job in its own Node process. The job arrives on stdin as JSON
// ({ fn: { source } | { module, export }, args }); the rank context is in the environment
// (RHAPSODY_RANK, …) and on globalThis.rhapsody. The result goes to stdout as the last line, after a
// record separator, so the function's own output stays as it was. The job and the result line
// are declared in rank-runner.d.mts (what rank-group.ts imports).
import { compile, encodeError, toError } from '../codec/wire-codec.mjs';

/** @import { RankJob, RankReport, ResultMark } from './rank-runner.mjs' */

const CLOSURE_HINT =
  " (a function run on a rank gets its captured variables shipped with it, but not the host's globals or modules: " +
  'import what you need with `await import()` inside the function, or pass values as args)';

/** @type {ResultMark} */
export const RESULT_MARK = '\u001eRHAPSODY_RESULT ';

/** @returns {Promise<string>} */
async function readJob() {
  // under mpirun only rank 0 gets stdin, so the job may come as a file
  if (process.env.RHAPSODY_JOB_FILE) {
    const { readFile } = await import('node:fs/promises');
    return readFile(process.env.RHAPSODY_JOB_FILE, 'utf8');
  }
  return readStdin();
}

/** @returns {Promise<string>} */
async function readStdin() {
  /** @type {Buffer[]} */
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * @param {RankReport} payload
 * @returns {Promise<unknown>} settles once the line is written
 */
function report(payload) {
  return new Promise((resolve) => process.stdout.write(`\n${RESULT_MARK}${JSON.stringify(payload)}\n`, resolve));
}

const env = process.env;
globalThis.rhapsody = {
  rank: Number(env.RHAPSODY_RANK),
  localRank: Number(env.RHAPSODY_LOCAL_RANK),
  worldSize: Number(env.RHAPSODY_WORLD_SIZE),
  hostname: env.RHAPSODY_HOSTNAME,
  gpus: env.CUDA_VISIBLE_DEVICES ? env.CUDA_VISIBLE_DEVICES.split(',').map(Number) : [],
};

/** @type {RankJob | undefined} */
let job;
try {
  job = /** @type {RankJob} */ (JSON.parse(await readJob()));
  /** @type {(...args: unknown[]) => unknown} */
  let fn;
  // JSON: `source` is there exactly when it is defined
  if ('source' in job.fn) fn = compile(job.fn.wire ?? job.fn.source);
  else {
    const m = await import(job.fn.module);
    fn = m[job.fn.export ?? 'default'];
    if (typeof fn !== 'function') throw new TypeError(`module ${job.fn.module} has no function export "${job.fn.export ?? 'default'}"`);
  }
  const value = await fn(...job.args);
  let json;
  try {
    json = JSON.stringify({ ok: true, value: value === undefined ? null : value });
  } catch (err) {
    // a toJSON may throw anything, not only an Error
    throw new TypeError(`the return value cannot be sent back as JSON: ${toError(err).message}`);
  }
  await new Promise((resolve) => process.stdout.write(`\n${RESULT_MARK}${json}\n`, resolve));
  process.exit(0);
} catch (err) {
  // JSON carries the report: only JSON-safe properties of the error travel. `job` may be anything
  // that parsed: look without assuming its shape
  const fromSource = /** @type {{ fn?: { source?: unknown } } | undefined} */ (job)?.fn?.source !== undefined;
  await report({ ok: false, error: encodeError(err, { json: true, hint: fromSource ? CLOSURE_HINT : undefined }) });
  process.exit(1);
}
