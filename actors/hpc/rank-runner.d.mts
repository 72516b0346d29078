import type { ErrorData, FunctionWire } from '../codec/wire-codec.mjs';

// The protocol of the rank runner (rank-runner.mjs, an entry point: node runs it as a function
// rank's process; never import it, it reads stdin and exits). rank-group.ts writes the job and
// reads the report.

/** A function shipped to a rank: source text (`wire`: with its captured values) or a module export. */
export type RankFunction = { source: string; wire?: FunctionWire } | { module: string; export?: string };

/** The job, as JSON on stdin (or in `$RHAPSODY_JOB_FILE` under mpirun, where only rank 0 gets stdin). */
export interface RankJob {
  fn: RankFunction;
  args: unknown[];
}

/** The result, as JSON on the last line of stdout after {@link ResultMark} (`undefined` is sent as null). */
export type RankReport = { ok: true; value: unknown } | { ok: false; error: ErrorData };

/** What starts the result line (after a newline), so the function's own output stays as it was. */
export type ResultMark = '\u001eRHAPSODY_RESULT ';
