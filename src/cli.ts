#!/usr/bin/env node
// The `rhapsody` command. Each command is one file under src/cli/; options are parsed with
// node:util parseArgs (no dependency) and the help is generated from the same option tables.
// Exit codes: 0 ok, 1 failure, 2 wrong usage.
import { commandHelp, parseCommand, table, UsageError } from './cli/command.js';
import { COMMANDS } from './cli/commands.js';
import { packageVersion } from './cli/package-root.js';

function mainHelp(): string {
  return [
    'usage: rhapsody COMMAND [options]',
    '       rhapsody COMMAND --help',
    '',
    'commands:',
    ...table(COMMANDS.map((c) => [`  ${c.name}`, c.summary])),
    '',
    'options:',
    ...table([
      ['  -h, --help', 'show this help and exit'],
      ['  -v, --version', "print rhapsody's version and exit"],
    ]),
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    console.error(mainHelp());
    return 2;
  }
  if (name === '--help' || name === '-h') {
    console.log(mainHelp());
    return 0;
  }
  if (name === '--version' || name === '-v' || name === '-V') {
    console.log(packageVersion());
    return 0;
  }
  if (name === 'help') {
    const cmd = COMMANDS.find((c) => c.name === rest[0]);
    if (rest[0] !== undefined && !cmd) throw new UsageError(`unknown command '${rest[0]}'`);
    console.log(cmd ? commandHelp(cmd) : mainHelp());
    return 0;
  }
  const cmd = COMMANDS.find((c) => c.name === name);
  if (!cmd) {
    const what = name.startsWith('-') ? `unknown option '${name}'` : `unknown command '${name}'`;
    throw new UsageError(`${what} (commands: ${COMMANDS.map((c) => c.name).join(', ')})`);
  }
  try {
    const parsed = parseCommand(cmd, rest, (s) => console.log(s));
    return parsed ? await cmd.run(parsed) : 0;
  } catch (err) {
    if (err instanceof UsageError) throw new UsageError(`${cmd.name}: ${err.message}`);
    throw new Error(`${cmd.name}: ${(err as Error).message}`, { cause: err });
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    if (err instanceof UsageError) {
      console.error(`rhapsody ${err.message}\nsee 'rhapsody --help'${/^[a-z-]+:/.test(err.message) ? ` and 'rhapsody ${err.message.split(':')[0]} --help'` : ''}`);
      process.exit(2);
    }
    console.error(`rhapsody ${err.message}`);
    process.exit(1);
  },
);
