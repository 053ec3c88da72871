/** Structured log lines of the CLI: one JSON object per line on stderr. */
import type { BeepError } from '../errors.js';

export type LogFields = Record<string, unknown>;

export function log(event: string, fields: LogFields = {}): void {
  process.stderr.write(JSON.stringify({ ts: new Date().toISOString(), event, ...fields }) + '\n');
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
