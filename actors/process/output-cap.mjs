// What a spawner says when a process wrote more than the in-memory cap on one stream: the first
// `cap` bytes stay in the task's text, followed by this note; the whole stream went to `file`
// (under the session directory), or, with nowhere to spill, the rest was dropped.

/** Default per-stream in-memory cap (bytes). */
export const DEFAULT_OUTPUT_CAP = 8 * 1024 * 1024;

export function overflowNote(stream, bytes, cap, file) {
  return file
    ? `\n[rhapsody: ${stream} was ${bytes} bytes, over the ${cap}-byte in-memory cap; all of it is in ${file}]\n`
    : `\n[rhapsody: ${stream} was ${bytes} bytes, over the ${cap}-byte in-memory cap; the rest was dropped]\n`;
}
