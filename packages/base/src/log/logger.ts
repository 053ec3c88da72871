/**
 * The one structured logger of every beamgate program, on pino: one JSON object per line on stderr with the keys
 * `time` (ISO 8601), `level` (a name), `name` (the program), `msg`, then the fields. When stderr is a terminal the
 * same records are printed as short human lines instead. Libraries never log through it: they keep
 * util.debuglog and diagnostics_channel, and only the CLIs create a Logger.
 */
import pino from 'pino';

type PinoLogger = pino.Logger;
import { prettyStream } from './pretty.js';

export const LOG_LEVELS = ['silent', 'error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export type LogFields = Record<string, unknown>;

export function isLogLevel(v: string): v is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(v);
}

export interface LoggerOptions {
  /** The program, logged as `name` on every line (beep, beam, beamgate). */
  name: string;
  level?: LogLevel;
  /** Where the lines go (default stderr). Anything with write(string). */
  stream?: { write(line: string): unknown };
  /** Human lines instead of JSON (default: when the stream is stderr and stderr is a terminal). */
  pretty?: boolean;
}

/** The interface the programs and the gateway's library code log through: message first, then fields. */
export interface Logger {
  readonly level: LogLevel;
  enabled(level: Exclude<LogLevel, 'silent'>): boolean;
  error(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  log(level: Exclude<LogLevel, 'silent'>, msg: string, fields?: LogFields): void;
  /** A logger whose lines all carry `fields` (e.g. `{ component: 'beep' }`). */
  child(fields: LogFields): Logger;
}

/** An Error as log fields: name, code and message; the stack only at debug level. */
function errorFields(e: Error, withStack: boolean): LogFields {
  const code = (e as { code?: unknown }).code;
  return { name: e.name, message: e.message, ...(code !== undefined ? { code } : {}), ...(withStack && e.stack ? { stack: e.stack } : {}) };
}

function jsonable(v: unknown, withStack: boolean): unknown {
  if (v instanceof Error) return errorFields(v, withStack);
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (typeof v === 'bigint') return v.toString();
  return v;
}

class PinoBacked implements Logger {
  constructor(private readonly p: PinoLogger) {}

  get level(): LogLevel {
    return this.p.level as LogLevel;
  }

  enabled(level: Exclude<LogLevel, 'silent'>): boolean {
    return this.p.isLevelEnabled(level);
  }

  error(msg: string, fields?: LogFields): void {
    this.log('error', msg, fields);
  }
  warn(msg: string, fields?: LogFields): void {
    this.log('warn', msg, fields);
  }
  info(msg: string, fields?: LogFields): void {
    this.log('info', msg, fields);
  }
  debug(msg: string, fields?: LogFields): void {
    this.log('debug', msg, fields);
  }

  log(level: Exclude<LogLevel, 'silent'>, msg: string, fields?: LogFields): void {
    if (!this.p.isLevelEnabled(level)) return;
    const out: LogFields = {};
    const debug = this.p.isLevelEnabled('debug');
    // The four keys of the shape are the logger's; a field of the same name would make two of them.
    if (fields) for (const [k, v] of Object.entries(fields)) if (v !== undefined && !RESERVED.has(k)) out[k] = jsonable(v, debug);
    try {
      this.p[level](out, msg);
    } catch {
      // A closed log stream must never take a server down.
    }
  }

  child(fields: LogFields): Logger {
    const out: LogFields = {};
    for (const [k, v] of Object.entries(fields)) if (v !== undefined && !RESERVED.has(k)) out[k] = jsonable(v, false);
    return new PinoBacked(this.p.child(out));
  }
}

const RESERVED = new Set(['time', 'level', 'name', 'msg']);

export function createLogger(options: LoggerOptions): Logger {
  const toStderr = options.stream === undefined;
  const pretty = options.pretty ?? (toStderr && process.stderr.isTTY === true);
  // Synchronous on stderr: a line written just before process.exit() (a usage error, a forced shutdown) is kept.
  const sink = options.stream ?? pino.destination({ dest: 2, sync: true });
  const p = pino(
    {
      name: options.name,
      level: options.level ?? 'info',
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      messageKey: 'msg',
      // Errors are already plain fields (jsonable): pino's own err serializer would add type and stack.
      serializers: { err: (v: unknown) => v },
    },
    pretty ? prettyStream(sink) : (sink as { write(s: string): unknown } as never),
  );
  return new PinoBacked(p);
}

/** A logger that drops everything (library default where a Logger is accepted). */
export const silentLogger: Logger = createLogger({ name: 'silent', level: 'silent', stream: { write: () => true }, pretty: false });
