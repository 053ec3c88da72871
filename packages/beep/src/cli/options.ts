/**
 * Option handling of the `beep` CLI in one place: every command's flags, their help text, and the mapping from
 * flags to session options. To add a flag shared by both commands (e.g. --tls, --sasl), add it to PEER_OPTIONS and
 * map it in peerOptionsFrom().
 */
import { parseArgs } from 'node:util';
import { LOG_LEVEL_FLAG, renameFlags, UsageError, type FlagSpec } from '@beamgate/base';
import type { PeerOptions } from '../api/connect.js';
import { setLogLevel } from './log.js';

export { UsageError };

export type OptionSpec = FlagSpec;

export interface CommandSpec {
  name: string;
  usage: string;
  summary: string;
  options: Record<string, OptionSpec>;
  /** Extra help text printed after the options. */
  notes?: string;
  /** Deprecated flag names still accepted (not in the help): old name -> current name. */
  renames?: Record<string, string>;
}

export type OptionValues = Record<string, string | boolean | string[] | boolean[] | undefined>;

/** Flags every command accepts: session limits and debugging. */
export const PEER_OPTIONS: Record<string, OptionSpec> = {
  window: { type: 'string', arg: 'BYTES', help: 'receive window per channel, advertised with SEQ (default 65536; k/M suffixes)' },
  'max-message': { type: 'string', arg: 'BYTES', help: 'reassembly cap for one incoming message (default 16M)' },
  'max-frame': { type: 'string', arg: 'BYTES', help: 'largest frame payload we send (default 16384)' },
  trace: { type: 'boolean', help: 'print every frame header sent (>) and received (<) on stderr' },
  ...LOG_LEVEL_FLAG,
  help: { type: 'boolean', short: 'h', help: 'show this help' },
  version: { type: 'boolean', short: 'V', help: 'print the version' },
};

/** Parse `argv` for one command. Returns undefined after printing the help when --help was given. */
export function parseCommand(spec: CommandSpec, argv: string[]): { values: OptionValues; positionals: string[] } | undefined {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [k, o] of Object.entries(spec.options)) {
    options[k] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: spec.renames ? renameFlags(argv, spec.renames) : argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (parsed.values['help'] === true) {
    process.stdout.write(helpText(spec));
    return undefined;
  }
  setLogLevel(stringOpt(parsed.values as OptionValues, 'log-level'));
  return { values: parsed.values as OptionValues, positionals: parsed.positionals };
}

export function helpText(spec: CommandSpec): string {
  const rows = Object.entries(spec.options).map(([k, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${k}${o.arg ? ` ${o.arg}` : ''}`;
    return `  ${flag.padEnd(30)} ${o.help}`;
  });
  return `Usage: ${spec.usage}\n\n${spec.summary}\n\nOptions:\n${rows.join('\n')}\n${spec.notes ? `\n${spec.notes}\n` : ''}`;
}

/** `65536`, `64k`, `1M`, `1MiB`, `2g` (binary units). */
export function parseSize(name: string, v: string): number {
  const m = /^(\d+)\s*([kmg]?)(i?b)?$/i.exec(v.trim());
  if (!m) throw new UsageError(`--${name}: expected a size like 65536, 64k or 1M, got ${JSON.stringify(v)}`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? '').toLowerCase()] ?? 1;
  const n = Number(m[1]) * mult;
  if (!Number.isSafeInteger(n)) throw new UsageError(`--${name}: ${v} is too large`);
  return n;
}

export function stringOpt(values: OptionValues, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

export function sizeOpt(values: OptionValues, name: string): number | undefined {
  const v = stringOpt(values, name);
  return v === undefined ? undefined : parseSize(name, v);
}

export function intOpt(values: OptionValues, name: string, min: number, max: number): number | undefined {
  const v = stringOpt(values, name);
  if (v === undefined) return undefined;
  const n = parseSize(name, v);
  if (n < min || n > max) throw new UsageError(`--${name} must be in ${min}..${max}`);
  return n;
}

/** Session options common to listen and connect, from the PEER_OPTIONS flags. */
export function peerOptionsFrom(values: OptionValues): PeerOptions {
  const o: PeerOptions = {};
  const win = sizeOpt(values, 'window');
  if (win !== undefined) {
    o.receiveWindow = win;
    // A frame may be as large as the window we advertise.
    o.maxFrameSize = Math.max(win, 1024 * 1024);
  }
  const maxMsg = sizeOpt(values, 'max-message');
  if (maxMsg !== undefined) o.maxMessageSize = maxMsg;
  const maxFrame = sizeOpt(values, 'max-frame');
  if (maxFrame !== undefined) o.maxSendFrameSize = maxFrame;
  return o;
}
