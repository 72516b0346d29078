import { fileURLToPath } from 'node:url';

// Files the runtime loads by path rather than imports (worker entries, the spawner helpers, the Dask
// scripts, the C source). They live in their subsystem's folder under actors/; the build copies them
// to dist/ keeping those folders. This module sits at actors/ in the sources and is bundled into
// dist/*.js, so one relative URL finds them in both.

/** The URL of a runtime file, e.g. `assetUrl('function-pool/thread-worker.mjs')`. */
export function assetUrl(relative: string): URL {
  return new URL(`./${relative}`, import.meta.url);
}

/** The path of a runtime file (see {@link assetUrl}). */
export function assetPath(relative: string): string {
  return fileURLToPath(assetUrl(relative));
}
