import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package's root folder (the one whose package.json is rhapsody's), found from this module's
 * place: `src/cli/` in a clone, `dist/` once built and bundled.
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'rhapsody') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find rhapsody's package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** The package's version (package.json). */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
