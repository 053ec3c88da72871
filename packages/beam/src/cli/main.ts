#!/usr/bin/env node
import { conform, CONFORM_HELP } from './conform.js';
import { run, RUN_HELP } from './run.js';
import { serve, SERVE_HELP, UsageError } from './serve.js';
import { sync, SYNC_HELP } from './sync.js';
import { worker, WORKER_HELP } from './worker.js';

const HELP = `Usage: beam COMMAND [options]

Commands:
  serve    serve the Beam job protocol over RESP (TCP or unix socket)
  run      run a job on a Beam server and stream its output
  worker   run jobs for clients of a real Redis (standalone, Sentinel or Cluster)
  sync     mirror a server's dataset over replication and print changes as they happen
  conform  check a Beam server against the job protocol rules of test-vectors/rules.json

Run 'beam COMMAND --help' for a command's options.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve':
      return serve(rest);
    case 'run':
      return run(rest);
    case 'sync':
      return sync(rest);
    case 'conform':
      return conform(rest);
    case 'worker':
      return worker(rest);
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(HELP);
      return command === undefined ? 2 : 0;
    default:
      process.stderr.write(`beam: unknown command '${command}'\n\n${HELP}`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    const usage = e instanceof UsageError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    process.stderr.write(`beam: ${e instanceof Error ? e.message : String(e)}\n`);
    if (usage) process.stderr.write(`\n${process.argv[2] === 'serve' ? SERVE_HELP : process.argv[2] === 'run' ? RUN_HELP : process.argv[2] === 'sync' ? SYNC_HELP : process.argv[2] === 'conform' ? CONFORM_HELP : process.argv[2] === 'worker' ? WORKER_HELP : ''}`);
    process.exitCode = usage ? 2 : 125;
  },
);
