// @ts-check
// What a spawner says when a process wrote more than the in-memory cap on one stream: the first
// `cap` bytes stay in the task's text, followed by this note; the whole stream went to `file`
// (under the session directory), or, with nowhere to spill, the rest was dropped. Declared in
// output-cap.d.mts (what the TypeScript side imports); the JSDoc here is checked against it.

/** Default per-stream in-memory cap (bytes). */
export const DEFAULT_OUTPUT_CAP = 8 * 1024 * 1024;

/**
 * The note appended to a stream's text past the cap.
 * @param {'stdout' | 'stderr'} stream
 * @param {number} bytes
 * @param {number} cap
 * @param {string | null} file
 * @returns {string}
 */
export function overflowNote(stream, bytes, cap, file) {
  return file
    ? `\n[rhapsody: ${stream} was ${bytes} bytes, over the ${cap}-byte in-memory cap; all of it is in ${file}]\n`
    : `\n[rhapsody: ${stream} was ${bytes} bytes, over the ${cap}-byte in-memory cap; the rest was dropped]\n`;
}

/**
 * The exports above against their declaration (output-cap.d.mts): a mismatch fails the typecheck.
 * @typedef {import('../implements.js').Implements<typeof import('./output-cap.mjs'), { DEFAULT_OUTPUT_CAP: typeof DEFAULT_OUTPUT_CAP; overflowNote: typeof overflowNote }>} Checked
 */
