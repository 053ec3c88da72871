/** Reads the kind of a pub/sub reply that a remote context sent, for the raw relay. Pure: no I/O. */
import { decodeReply, parseStrictInt } from '@beamgate/beam';

export interface PubSubInfo {
  /** `subscribe`, `unsubscribe`, `psubscribe`, `punsubscribe`, `ssubscribe`, `sunsubscribe`, `message`, `pmessage`, `smessage`, `pong`... */
  kind: string;
  /** Subscription count of a (un)subscribe confirmation. */
  count?: number;
}

/**
 * The kind of an array or push reply of 2 to 4 elements (the pub/sub shapes) whose first element is a string;
 * undefined otherwise. Only such small replies are decoded, so relaying a long array costs nothing here.
 */
export function pubSubInfo(reply: Buffer): PubSubInfo | undefined {
  const t = reply[0];
  if (t !== 0x2a && t !== 0x3e) return undefined;
  const cr = reply.indexOf(13);
  const n = cr < 0 ? NaN : parseStrictInt(reply, 1, cr);
  if (!(n >= 2 && n <= 4)) return undefined;
  const items = decodeReply(reply) as unknown[];
  const head = items[0];
  if (!Buffer.isBuffer(head)) return undefined;
  const kind = head.toString('latin1').toLowerCase();
  const count = items[2];
  if (n === 3 && kind.endsWith('subscribe') && typeof count === 'number') return { kind, count };
  return { kind };
}
