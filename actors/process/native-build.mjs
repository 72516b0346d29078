// @ts-check
// Builds the native spawner (native-spawner.c) with the system C compiler, once per source version,
// into a cache folder; imported by the runtime (built lazily on first use) and run as the package's
// postinstall (`node actors/process/native-build.mjs`), which only warms that cache and never fails the install.
// Declared in native-build.d.mts (what the TypeScript side imports); the JSDoc here is checked against it.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { access, constants, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// beside this file when run as a script; the bundled runtime passes the copy under dist/
const BESIDE = fileURLToPath(new URL('./native-spawner.c', import.meta.url));

/**
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {string[]}
 */
function cacheDirs(env = process.env) {
  const dirs = [];
  if (env.RHAPSODY_CACHE_DIR) dirs.push(env.RHAPSODY_CACHE_DIR);
  const xdg = env.XDG_CACHE_HOME || (homedir() ? join(homedir(), '.cache') : '');
  if (xdg) dirs.push(join(xdg, 'rhapsody'));
  dirs.push(join(env.TMPDIR || tmpdir(), `rhapsody-cache-${process.getuid?.() ?? 'user'}`));
  return dirs;
}

/**
 * One binary per source version, OS and architecture.
 * @param {Buffer} source
 * @returns {string}
 */
function binaryName(source) {
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  return `native-spawner-${hash}-${process.platform}-${process.arch}`;
}

/**
 * Where the runtime looks for a built spawner, in order, without building one (for `rhapsody
 * doctor`): `$RHAPSODY_NATIVE_SPAWNER` (a prebuilt binary), then the cache folders.
 * @param {string} [sourcePath]
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {string[]}
 */
export function nativeSpawnerCandidates(sourcePath = BESIDE, env = process.env) {
  const list = env.RHAPSODY_NATIVE_SPAWNER ? [env.RHAPSODY_NATIVE_SPAWNER] : [];
  try {
    const name = binaryName(readFileSync(sourcePath));
    for (const dir of cacheDirs(env)) list.push(join(dir, name));
  } catch {
    // no source: only a prebuilt binary can be used
  }
  return list;
}

/**
 * @param {string} cc
 * @param {string} out
 * @param {string} sourcePath
 * @returns {Promise<void>}
 */
function compile(cc, out, sourcePath) {
  return new Promise((resolve, reject) => {
    execFile(cc, ['-O2', '-std=gnu11', '-o', out, sourcePath], { timeout: 120_000 }, (err, _stdout, stderr) => {
      if (err && typeof err.code === 'string') reject(new Error(`no C compiler (${cc}: ${err.code})`));
      else if (err) reject(new Error(`${cc} failed: ${(stderr || err.message).trim().split('\n').slice(0, 3).join(' ')}`));
      else resolve();
    });
  });
}

/** @typedef {{ path: string; reason?: undefined } | { path: null; reason: string }} BuildResult */

/** @type {Promise<BuildResult> | null} */
let built = null;

/**
 * The path of the native spawner binary, compiled now if this version of the source has not been
 * built yet: `{ path }`, or `{ path: null, reason }` where it cannot be (no compiler, no source,
 * no writable cache folder, a libc without posix_spawn_file_actions_addchdir_np).
 * @param {string} [sourcePath]
 * @returns {Promise<BuildResult>}
 */
export function buildNativeSpawner(sourcePath = BESIDE) {
  built ??= (async () => {
    if (process.platform === 'win32') return { path: null, reason: 'not available on Windows' };
    const prebuilt = process.env.RHAPSODY_NATIVE_SPAWNER;
    if (prebuilt) {
      try {
        await access(prebuilt, constants.X_OK);
        return { path: prebuilt };
      } catch {
        return { path: null, reason: `RHAPSODY_NATIVE_SPAWNER=${prebuilt} is not an executable file` };
      }
    }
    let source;
    try {
      source = await readFile(sourcePath);
    } catch {
      return { path: null, reason: `source not found (${sourcePath})` };
    }
    const name = binaryName(source);
    const cc = process.env.CC || 'cc';
    let lastError = 'no writable cache folder';
    for (const dir of cacheDirs()) {
      const path = join(dir, name);
      try {
        await access(path, constants.X_OK);
        return { path };
      } catch {}
      const tmp = `${path}.${process.pid}.tmp`;
      try {
        await mkdir(dir, { recursive: true });
        await compile(cc, tmp, sourcePath);
        await rename(tmp, path); // atomic: concurrent builders each write their own tmp file
        return { path };
      } catch (err) {
        await rm(tmp, { force: true }).catch(() => undefined);
        lastError = /** @type {Error} */ (err).message;
        if (/failed:|no C compiler/.test(lastError)) break; // another folder will not help
      }
    }
    return { path: null, reason: lastError };
  })();
  return built;
}

// run as a script (postinstall): build, say what happened, never fail (no top-level await: the
// runtime's CJS build bundles this file)
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildNativeSpawner().then((r) => console.log(r.path ? `rhapsody: native spawner built (${r.path})` : `rhapsody: native spawner not built (${r.reason}); the Node spawner will be used`));
}

/**
 * The exports above against their declaration (native-build.d.mts): a mismatch fails the typecheck.
 * @typedef {import('../implements.js').Implements<typeof import('./native-build.mjs'), { buildNativeSpawner: typeof buildNativeSpawner; nativeSpawnerCandidates: typeof nativeSpawnerCandidates }>} Checked
 */
