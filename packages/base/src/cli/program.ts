/**
 * The entry of every beamgate program: `--version`/`-V` and `--help`/`-h` on the program and on every
 * subcommand, dispatch to the subcommand, errors printed with their fix and no stack trace unless
 * `--log-level debug`, and the exit status (see EXIT). The program's help and version come from commander.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { EXIT, formatError, isUsageError, UsageError } from './errors.js';

export interface SubcommandSpec {
  name: string;
  summary: string;
  /** Runs the subcommand on its own arguments (after the name); resolves to the exit status. */
  run(argv: string[]): Promise<number>;
  /** Exit status when `run` throws something that is not a usage error (default 1). */
  failureStatus?: number;
}

export interface ProgramSpec {
  name: string;
  summary: string;
  /** URL of the package.json whose version `--version` prints. */
  packageJson: URL;
  commands: SubcommandSpec[];
  /** Extra lines after the command list. */
  footer?: string;
}

/** The `version` field of a package.json (`unknown` if it cannot be read). */
export function readVersion(packageJson: URL): string {
  try {
    const pkg = JSON.parse(readFileSync(packageJson, 'utf8')) as { version?: unknown };
    return typeof pkg.version === 'string' ? pkg.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The commander program of a spec (help text and version; subcommands parse their own flags). */
export function createProgram(spec: ProgramSpec): Command {
  const program = new Command(spec.name).description(spec.summary).version(readVersion(spec.packageJson), '-V, --version', 'print the version and exit');
  program.helpOption('-h, --help', 'show this help (also: ' + spec.name + ' COMMAND --help)');
  for (const c of spec.commands) program.command(c.name).description(c.summary);
  program.addHelpText('after', `\nRun '${spec.name} COMMAND --help' for the options of a command.${spec.footer ? `\n${spec.footer}` : ''}`);
  return program;
}

/** True when the arguments before `--` ask for debug logging (stack traces in error reports). */
function debugAsked(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  const own = end === -1 ? argv : argv.slice(0, end);
  for (let i = 0; i < own.length; i++) {
    if (own[i] === '--log-level=debug' || (own[i] === '--log-level' && own[i + 1] === 'debug')) return true;
  }
  return /^(debug|trace)$/.test(process.env['BEAMGATE_LOG_LEVEL'] ?? '');
}

function asksVersion(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end === -1 ? argv : argv.slice(0, end)).some((a) => a === '--version' || a === '-V');
}

/** Run the program on `argv` (without node and the script) and resolve to the exit status; prints, never throws. */
export async function runProgram(spec: ProgramSpec, argv: readonly string[]): Promise<number> {
  const [first, ...rest] = argv;
  const program = createProgram(spec);
  const version = (): number => {
    process.stdout.write(`${spec.name} ${readVersion(spec.packageJson)}\n`);
    return EXIT.OK;
  };
  if (first === undefined || first === '-h' || first === '--help') {
    process.stdout.write(program.helpInformation());
    return first === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (first === '-V' || first === '--version' || first === 'version') return version();
  const name = first === 'help' ? rest[0] : first;
  const cmd = spec.commands.find((c) => c.name === name);
  if (first === 'help') {
    if (cmd === undefined) {
      process.stdout.write(program.helpInformation());
      return EXIT.OK;
    }
    return cmd.run(['--help']);
  }
  if (cmd === undefined) {
    process.stderr.write(formatError(spec.name, new UsageError(`unknown command ${JSON.stringify(first)}`, { hint: `run '${spec.name} --help' for the commands` }), false));
    return EXIT.USAGE;
  }
  if (asksVersion(rest)) return version();
  try {
    return await cmd.run(rest);
  } catch (e) {
    const usage = isUsageError(e);
    process.stderr.write(formatError(spec.name, e, debugAsked(rest)));
    if (usage && (e as { hint?: unknown }).hint === undefined) process.stderr.write(`Run '${spec.name} ${cmd.name} --help' for its options.\n`);
    return usage ? EXIT.USAGE : (cmd.failureStatus ?? EXIT.FAILURE);
  }
}

/**
 * `runProgram` on process.argv, then exit with its status once stdout has drained (a socket left open by a
 * finished command does not keep the process alive).
 */
export function main(spec: ProgramSpec): void {
  process.on('SIGPIPE', () => {});
  runProgram(spec, process.argv.slice(2)).then((code) => {
    process.exitCode = code;
    setTimeout(() => process.exit(code), 200).unref();
  });
}
