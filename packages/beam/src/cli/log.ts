/** The `beam` program's log: the shared logger of @beamgate/base (JSON lines on stderr, `name` "beam"). */
import { createLogger, isLogLevel, UsageError, type LogFields, type Logger } from '@beamgate/base';

let logger: Logger = createLogger({ name: 'beam' });

/** Apply `--log-level` (before the first line is written). */
export function setLogLevel(level: string | undefined): void {
  if (level === undefined) return;
  if (!isLogLevel(level)) throw new UsageError(`--log-level: expected silent, error, warn, info or debug, got ${JSON.stringify(level)}`);
  logger = createLogger({ name: 'beam', level });
}

export function logLine(level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields: LogFields = {}): void {
  logger.log(level, msg, fields);
}
