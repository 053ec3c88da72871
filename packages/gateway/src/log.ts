/** Structured JSON-lines logger with levels (docs/gateway.md §6.1). One line per event, never throws. */
import type { Writable } from 'node:stream';

export const LOG_LEVELS = ['silent', 'error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const RANK: Record<LogLevel, number> = { silent: 0, error: 1, warn: 2, info: 3, debug: 4 };

export type LogFields = Record<string, unknown>;

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; default process.stdout. */
  stream?: Pick<Writable, 'write'>;
  /** Clock for tests. */
  now?: () => Date;
}

export function isLogLevel(v: string): v is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(v);
}

function toJsonable(v: unknown): unknown {
  if (v instanceof Error) {
    const o: Record<string, unknown> = { name: v.name, message: v.message };
    const code = (v as { code?: unknown }).code;
    if (code !== undefined) o['code'] = code;
    return o;
  }
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (typeof v === 'bigint') return v.toString();
  return v;
}

export class Logger {
  private readonly rank: number;
  private readonly stream: Pick<Writable, 'write'>;
  private readonly now: () => Date;
  private readonly options: LoggerOptions;

  constructor(options: LoggerOptions = {}, private readonly bound: LogFields = {}) {
    this.rank = RANK[options.level ?? 'info'];
    this.stream = options.stream ?? process.stdout;
    this.now = options.now ?? (() => new Date());
    this.options = options;
  }

  /** A logger whose lines all carry `fields` (e.g. `{ component: 'beep', session: 3 }`). */
  child(fields: LogFields): Logger {
    return new Logger(this.options, { ...this.bound, ...fields });
  }

  enabled(level: Exclude<LogLevel, 'silent'>): boolean {
    return RANK[level] <= this.rank;
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
    if (!this.enabled(level)) return;
    const record: LogFields = { time: this.now().toISOString(), level, msg };
    for (const src of [this.bound, fields ?? {}]) {
      for (const [k, v] of Object.entries(src)) if (!(k in record) && v !== undefined) record[k] = toJsonable(v);
    }
    let line: string;
    try {
      line = JSON.stringify(record);
    } catch {
      line = JSON.stringify({ time: record['time'], level, msg, note: 'fields not serializable' });
    }
    try {
      this.stream.write(line + '\n');
    } catch {
      // A closed log stream must never take the gateway down.
    }
  }
}

/** A logger that drops everything (library default). */
export const silentLogger = new Logger({ level: 'silent' });
