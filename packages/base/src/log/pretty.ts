/**
 * The human format of the logger for a terminal: `12:00:01 INFO  beep listening port=10288 tls=true`. It reads
 * the JSON lines pino writes, so the records are the same as in JSON mode; only their rendering differs.
 */
const COLOURS: Record<string, string> = { error: '\x1b[31m', warn: '\x1b[33m', info: '\x1b[36m', debug: '\x1b[90m' };

function value(v: unknown): string {
  if (typeof v === 'string') return /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v);
}

export function formatPretty(line: string, colour: boolean): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const { time, level, name, msg, ...fields } = rec;
  const clock = typeof time === 'string' ? time.slice(11, 19) : '';
  const lvl = String(level ?? '').toUpperCase().padEnd(5);
  const tint = colour ? (COLOURS[String(level)] ?? '') : '';
  const reset = colour && tint ? '\x1b[0m' : '';
  const rest = Object.entries(fields).map(([k, v]) => `${k}=${value(v)}`).join(' ');
  const stack = typeof fields['err'] === 'object' && fields['err'] !== null ? (fields['err'] as { stack?: string }).stack : undefined;
  return `${clock} ${tint}${lvl}${reset} ${String(name ?? '')} ${String(msg ?? '')}${rest ? ` ${rest}` : ''}\n${stack ? `${stack}\n` : ''}`;
}

export function prettyStream(sink: { write(s: string): unknown }, colour = process.stderr.isTTY === true): { write(s: string): boolean } {
  return {
    write(chunk: string): boolean {
      for (const line of chunk.split('\n')) if (line) sink.write(formatPretty(line, colour));
      return true;
    },
  };
}
