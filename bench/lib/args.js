// Command-line options of a bench.
import { parseArgs } from 'node:util';

/** Parses the process's options (plus -h/--help, which prints `usage` and exits); returns their values. */
export function benchOptions(usage, options) {
  const { values } = parseArgs({ options: { ...options, help: { type: 'boolean', short: 'h', default: false } } });
  if (values.help) {
    process.stdout.write(usage);
    process.exit(0);
  }
  return values;
}
