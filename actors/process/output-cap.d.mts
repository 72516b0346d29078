/** Default per-stream in-memory cap (bytes). */
export const DEFAULT_OUTPUT_CAP: number;
/** The note appended to a stream's text past the cap. */
export function overflowNote(stream: 'stdout' | 'stderr', bytes: number, cap: number, file: string | null): string;
