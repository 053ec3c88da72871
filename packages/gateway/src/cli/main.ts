#!/usr/bin/env node
/** `beamgate` entry point (docs/gateway.md §6, docs/cli.md). */
import { main } from '@beamgate/base';
import { parseCommandLine } from './args.js';
import { runJob } from './run.js';
import { serve } from './serve.js';

/** One subcommand through the gateway's own parser (flags, environment, config file). */
async function command(name: 'serve' | 'run', argv: string[]): Promise<number> {
  const env = process.env;
  const cmd = parseCommandLine([name, ...argv], env);
  switch (cmd.command) {
    case 'help':
      process.stdout.write(cmd.text);
      return 0;
    case 'serve':
      return serve(cmd.flags, env);
    case 'run':
      return runJob(cmd.options);
    default:
      return 2;
  }
}

main({
  name: 'beamgate',
  summary: 'The BEEP <-> Beam gateway: serve Beam jobs and RESP over BEEP, or run one job on a gateway.',
  packageJson: new URL('../../../package.json', import.meta.url),
  commands: [
    { name: 'serve', summary: 'run the gateway: BEEP listener (job and RESP profiles) on a Beam context', run: (a) => command('serve', a) },
    { name: 'run', summary: 'run one job on a gateway over BEEP and relay its input, output and exit status', run: (a) => command('run', a) },
  ],
  footer: 'Exit status: 0 success, 1 failure, 2 usage or configuration error; beamgate run: the job\'s status (docs/cli.md).',
});
