/** A command argument: Buffers go as they are, strings as UTF-8, numbers in decimal. */
export type CommandArg = string | Buffer | number;

const CRLF = Buffer.from('\r\n', 'latin1');

/**
 * The one RESP command encoder (client, replication stream, gateway relay): a RESP array of bulk strings,
 * binary safe, in one Buffer.
 */
export function encodeCommand(args: readonly CommandArg[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`*${args.length}\r\n`, 'latin1')];
  for (const a of args) {
    const b = Buffer.isBuffer(a) ? a : Buffer.from(typeof a === 'string' ? a : String(a), 'utf8');
    parts.push(Buffer.from(`$${b.length}\r\n`, 'latin1'), b, CRLF);
  }
  return Buffer.concat(parts);
}
