// Builds the native spawner (native-spawner.c) with the system C compiler, once per source version,
// into a cache folder; imported by the runtime (built lazily on first use) and run as the package's
// postinstall (`node actors/native-build.mjs`), which only warms that cache and never fails the install.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { access, constants, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SOURCE = fileURLToPath(new URL('./native-spawner.c', import.meta.url));

function cacheDirs() {
  const dirs = [];
  if (process.env.RHAPSODY_CACHE_DIR) dirs.push(process.env.RHAPSODY_CACHE_DIR);
  const xdg = process.env.XDG_CACHE_HOME || (homedir() ? join(homedir(), '.cache') : '');
  if (xdg) dirs.push(join(xdg, 'rhapsody'));
  dirs.push(join(tmpdir(), `rhapsody-cache-${process.getuid?.() ?? 'user'}`));
  return dirs;
}

function compile(cc, out) {
  return new Promise((resolve, reject) => {
    execFile(cc, ['-O2', '-std=gnu11', '-o', out, SOURCE], { timeout: 120_000 }, (err, _stdout, stderr) => {
      if (err && typeof err.code === 'string') reject(new Error(`no C compiler (${cc}: ${err.code})`));
      else if (err) reject(new Error(`${cc} failed: ${(stderr || err.message).trim().split('\n').slice(0, 3).join(' ')}`));
      else resolve();
    });
  });
}

let built = null;

/**
 * The path of the native spawner binary, compiled now if this version of the source has not been
 * built yet: `{ path }`, or `{ path: null, reason }` where it cannot be (no compiler, no source,
 * no writable cache folder, a libc without posix_spawn_file_actions_addchdir_np).
 */
export function buildNativeSpawner() {
  built ??= (async () => {
    if (process.platform === 'win32') return { path: null, reason: 'not available on Windows' };
    let source;
    try {
      source = await readFile(SOURCE);
    } catch {
      return { path: null, reason: `source not found (${SOURCE})` };
    }
    const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
    const name = `native-spawner-${hash}-${process.platform}-${process.arch}`;
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
        await compile(cc, tmp);
        await rename(tmp, path); // atomic: concurrent builders each write their own tmp file
        return { path };
      } catch (err) {
        await rm(tmp, { force: true }).catch(() => undefined);
        lastError = err.message;
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
