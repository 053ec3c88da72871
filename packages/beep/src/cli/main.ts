#!/usr/bin/env node
/** The `beep` command: `beep listen ...` and `beep connect ...` (see `beep <command> --help`). */
import { runConform } from './conform.js';
import { runConnect } from './connect.js';
import { runListen } from './listen.js';
import { UsageError } from './options.js';

const USAGE = `Usage: beep <command> [options]

Commands:
  listen    accept BEEP sessions and serve the built-in test profiles (echo, ans, sink, hold)
  connect   open a channel to a BEEP peer, send a message, print the reply (or measure throughput)
  conform   check a live BEEP peer against the rules of test-vectors/rules.json

Run 'beep <command> --help' for the options of a command.
`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'listen':
        return await runListen(rest);
      case 'connect':
        return await runConnect(rest);
      case 'conform':
        return await runConform(rest);
      case undefined:
      case '-h':
      case '--help':
      case 'help':
        process.stdout.write(USAGE);
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(cmd)}`);
    }
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`beep: ${e.message}\nRun 'beep ${cmd ?? ''} --help'.\n`.replace('  ', ' '));
      return 2;
    }
    process.stderr.write(`beep: ${(e as Error)?.stack ?? String(e)}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
  // Let stdout drain; then leave even if a socket lingers.
  setTimeout(() => process.exit(code), 50).unref();
});
