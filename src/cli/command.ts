// One command of the `rhapsody` CLI: its options (node:util parseArgs, no dependency) and the help
// generated from them, so every option has a line in `--help` and nothing is parsed that is not listed.
import { parseArgs } from 'node:util';

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** what the value looks like in the help (`PORT`, `redis://H:P`); strings only */
  value?: string;
  description: string;
  /** shown in the help; applied by the command, not by the parser */
  default?: string;
}

export interface PositionalSpec {
  name: string;
  description: string;
  required: boolean;
}

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export interface Command {
  name: string;
  /** one line, for the command list */
  summary: string;
  /** more lines for `rhapsody NAME --help` */
  details?: string;
  positionals?: PositionalSpec[];
  options: Record<string, OptionSpec>;
  /** exit code; a long-running command resolves when it is stopped */
  run(args: Parsed): Promise<number>;
}

/** Wrong use of the command line: exit code 2, with a pointer to the help. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const HELP: OptionSpec = { type: 'boolean', short: 'h', description: 'show this help and exit' };

/** Parses a command's arguments; `null` when `--help` was asked (the help is printed then). */
export function parseCommand(cmd: Command, argv: string[], print: (s: string) => void): Parsed | null {
  const options = { ...cmd.options, help: HELP };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: Object.fromEntries(Object.entries(options).map(([k, o]) => [k, { type: o.type, ...(o.short ? { short: o.short } : {}) }])),
    });
  } catch (err) {
    // parseArgs errors are phrased for the user already ("Unknown option '--x'", "Option '--port <value>' argument missing")
    throw new UsageError(`${(err as Error).message.replace(/\. To specify a positional argument.*$/s, '')}`);
  }
  if (parsed.values.help) {
    print(commandHelp(cmd));
    return null;
  }
  const specs = cmd.positionals ?? [];
  if (parsed.positionals.length > specs.length) {
    const extra = parsed.positionals
      .slice(specs.length)
      .map((p) => `'${p}'`)
      .join(' ');
    throw new UsageError(specs.length ? `unexpected argument ${extra} (takes ${specs.map((p) => p.name).join(' ')})` : `unexpected argument ${extra} (takes no arguments)`);
  }
  const missing = specs.find((p, i) => p.required && parsed.positionals[i] === undefined);
  if (missing) throw new UsageError(`missing ${missing.name}: ${missing.description}`);
  return { values: parsed.values as Parsed['values'], positionals: parsed.positionals };
}

/** The usage line of a command (`rhapsody report RUN.jsonl [options]`). */
export function usageLine(cmd: Command): string {
  const pos = (cmd.positionals ?? []).map((p) => (p.required ? p.name : `[${p.name}]`));
  return ['rhapsody', cmd.name, ...pos, '[options]'].join(' ');
}

/** `rhapsody NAME --help`: usage, what it does, its arguments and every option. */
export function commandHelp(cmd: Command): string {
  const rows: Array<[string, string]> = [];
  for (const p of cmd.positionals ?? []) rows.push([`  ${p.name}`, p.description]);
  const lines = [`usage: ${usageLine(cmd)}`, '', cmd.summary + (cmd.details ? `\n${cmd.details}` : '')];
  if (rows.length) lines.push('', 'arguments:', ...table(rows));
  const opts: Array<[string, string]> = Object.entries({ ...cmd.options, help: HELP }).map(([name, o]) => [
    `  ${o.short ? `-${o.short}, ` : '    '}--${name}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`,
    o.description + (o.default !== undefined ? ` (default ${o.default})` : ''),
  ]);
  lines.push('', 'options:', ...table(opts));
  return lines.join('\n');
}

/** Two columns, the second aligned (wrapped lines stay under their column). */
export function table(rows: Array<[string, string]>): string[] {
  const width = Math.min(Math.max(...rows.map(([a]) => a.length)) + 2, 40);
  return rows.map(([a, b]) => (a.length + 2 > width ? `${a}\n${' '.repeat(width)}${b}` : a.padEnd(width) + b));
}

/** A whole number option within bounds, or a UsageError naming the option. */
export function intOption(values: Parsed['values'], name: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const raw = values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (typeof raw !== 'string' || raw.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name} must be a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`} (got '${String(raw)}')`);
  }
  return n;
}

/** A string option; `undefined` when not given. */
export function strOption(values: Parsed['values'], name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}
