#!/usr/bin/env node
/** `beamgate` entry point (docs/gateway.md §6). */
import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';
import { parseCommandLine } from './args.js';
import { runJob } from './run.js';
import { serve } from './serve.js';

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

async function main(argv: string[]): Promise<number> {
  const env = process.env;
  try {
    const cmd = parseCommandLine(argv, env);
    switch (cmd.command) {
      case 'help':
        process.stdout.write(cmd.text);
        return 0;
      case 'version':
        process.stdout.write(`beamgate ${version()}\n`);
        return 0;
      case 'serve':
        return await serve(cmd.flags, env);
      case 'run':
        return await runJob(cmd.options);
    }
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`);
      return 2;
    }
    process.stderr.write(`beamgate: ${(e as Error).message}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    // Sockets of a finished `run` or a drained `serve` must not keep the process alive.
    setTimeout(() => process.exit(code), 200).unref();
  },
  (e: unknown) => {
    process.stderr.write(`beamgate: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
