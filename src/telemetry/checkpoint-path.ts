import { stat } from 'node:fs/promises';
import { join, sep } from 'node:path';

/**
 * Where the checkpoint goes. A directory (one that exists, or a path ending in `/`) gets the Python
 * original's file name inside it, `<session uid>.<unix seconds>.telemetry.jsonl`; any other path is
 * the file itself.
 */
export async function checkpointFile(path: string, sessionUid: string, now = Date.now()): Promise<string> {
  const isDir =
    path.endsWith('/') ||
    path.endsWith(sep) ||
    (await stat(path).then(
      (s) => s.isDirectory(),
      () => false,
    ));
  return isDir ? join(path, `${sessionUid}.${Math.floor(now / 1000)}.telemetry.jsonl`) : path;
}
