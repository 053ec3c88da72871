/** The `beep` program's log: the shared logger of @beamgate/base (JSON lines on stderr, `name` "beep"). */
import { createLogger, isLogLevel, UsageError, type LogFields, type Logger } from '@beamgate/base';
import type { BeepError } from '../errors.js';

export type { LogFields };

let logger: Logger = createLogger({ name: 'beep' });

/** Apply `--log-level` (before the first line is written). */
export function setLogLevel(level: string | undefined): void {
  if (level === undefined) return;
  if (!isLogLevel(level)) throw new UsageError(`--log-level: expected silent, error, warn, info or debug, got ${JSON.stringify(level)}`);
  logger = createLogger({ name: 'beep', level });
}

export function log(msg: string, fields: LogFields = {}, level: 'error' | 'warn' | 'info' | 'debug' = 'info'): void {
  logger.log(level, msg, fields);
}

/** A close reason as log fields: `{ reason: 'released' }` or the error's code and message. */
export function reasonFields(reason: Error | undefined): LogFields {
  if (reason === undefined) return { reason: 'released' };
  const e = reason as Partial<BeepError>;
  return {
    reason: e.code ?? reason.name,
    message: reason.message,
    ...(e.replyCode !== undefined ? { replyCode: e.replyCode } : {}),
  };
}
