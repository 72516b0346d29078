// @ts-check
// Build step: copies the files the runtime loads by path (actors/<subsystem>/*.mjs, *.py, *.c) to
// dist/, keeping their subsystem folders (see actors/assets.ts); TypeScript is bundled by tsup.
import { cpSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const RUNTIME_FILE = /\.(mjs|py|c)$/;
for (const dir of readdirSync('actors', { withFileTypes: true })) {
  if (!dir.isDirectory()) continue;
  for (const name of readdirSync(join('actors', dir.name))) {
    if (RUNTIME_FILE.test(name)) cpSync(join('actors', dir.name, name), join('dist', dir.name, name));
  }
}
