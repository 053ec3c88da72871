/** Argument parsing and small helpers shared by the stream commands (cmd-streams*.ts). */
import type { Keyspace } from './keyspace.js';
import { ErrorReply, type Reply } from '../wire/reply.js';
import { T_STREAM, type Db, type Entry, keyString as kstr } from './store.js';
import { parseInt64 } from './numbers.js';
import { E_WRONGTYPE } from './replies.js';
import { ConsumerGroup, ID_MAX, ID_MIN, Stream, idBuffer, parseId, type Consumer, type Nack, type StreamEntry, type StreamId } from './stream.js';

export const E_INVALID_ID = new ErrorReply('ERR Invalid stream ID specified as stream command argument');
export const E_ID_SMALL = new ErrorReply('ERR The ID specified in XADD is equal or smaller than the target stream top item');
export const E_ID_ZERO = new ErrorReply('ERR The ID specified in XADD must be greater than 0-0');
export const E_EXHAUSTED = new ErrorReply('ERR The stream has exhausted the last possible ID, unable to add more items');
const E_BAD_START = new ErrorReply('ERR invalid start ID for the interval');
const E_BAD_END = new ErrorReply('ERR invalid end ID for the interval');
export const E_TIMEOUT_INT = new ErrorReply('ERR timeout is not an integer or out of range');
export const E_TIMEOUT_NEG = new ErrorReply('ERR timeout is negative');
export const E_TIMEOUT_RANGE = new ErrorReply('ERR timeout is out of range');
export const MASK64 = (1n << 64n) - 1n;

const B_XCLAIM = Buffer.from('XCLAIM');
const B_XGROUP = Buffer.from('XGROUP');
const B_SETID = Buffer.from('SETID');
const B_CREATECONSUMER = Buffer.from('CREATECONSUMER');
const B_ENTRIESREAD = Buffer.from('ENTRIESREAD');
const B_ZERO = Buffer.from('0');
const B_TIME = Buffer.from('TIME');
const B_RETRYCOUNT = Buffer.from('RETRYCOUNT');
const B_FORCE = Buffer.from('FORCE');
const B_JUSTID = Buffer.from('JUSTID');
const B_LASTID = Buffer.from('LASTID');
export const B_EQUALS = Buffer.from('=');

export const num = (n: number | bigint): Buffer => Buffer.from(String(n), 'latin1');

export function getStream(ctx: Keyspace, db: Db, key: string): Entry | undefined | ErrorReply {
  const e = ctx.lookup(db, key);
  if (e !== undefined && e.t !== T_STREAM) return E_WRONGTYPE;
  return e;
}

export function parseLL(b: Buffer): bigint | null {
  const v = parseInt64(b);
  return v === null ? null : BigInt(v);
}

export function strictId(b: Buffer, missingSeq = 0n): StreamId | ErrorReply {
  const p = parseId(b, missingSeq, true);
  return p === null ? E_INVALID_ID : p.id;
}

/** argv[from..] as strict IDs (XACK, XDEL): all valid or the error. */
export function strictIds(argv: Buffer[], from: number): StreamId[] | ErrorReply {
  const ids: StreamId[] = [];
  for (let j = from; j < argv.length; j++) {
    const id = strictId(argv[j]!);
    if (id instanceof ErrorReply) return id;
    ids.push(id);
  }
  return ids;
}

/** streamParseIntervalIDOrReply plus the increment/decrement of an exclusive `(` bound. */
export function intervalId(b: Buffer, missingSeq: bigint, start: boolean): StreamId | ErrorReply {
  const exclusive = b.length > 1 && b[0] === 0x28;
  const p = exclusive ? parseId(b.subarray(1), missingSeq, true) : parseId(b, missingSeq, false);
  if (p === null) return E_INVALID_ID;
  if (!exclusive) return p.id;
  if (start) return p.id === ID_MAX ? E_BAD_START : p.id + 1n;
  return p.id === ID_MIN ? E_BAD_END : p.id - 1n;
}

export function entryReply(e: StreamEntry): Reply {
  return [idBuffer(e.id), e.fields];
}


export function xclaimArgv(key: Buffer, g: ConsumerGroup, groupName: Buffer, id: Buffer, nack: Nack): Buffer[] {
  return [B_XCLAIM, key, groupName, nack.consumer.name, B_ZERO, id, B_TIME, num(nack.deliveryTime), B_RETRYCOUNT,
    num(nack.deliveryCount), B_FORCE, B_JUSTID, B_LASTID, idBuffer(g.lastId)];
}

export function setidArgv(key: Buffer, g: ConsumerGroup, groupName: Buffer): Buffer[] {
  return [B_XGROUP, B_SETID, key, groupName, idBuffer(g.lastId), B_ENTRIESREAD, num(g.entriesRead)];
}

export interface GroupRead {
  group: ConsumerGroup;
  groupName: Buffer;
  consumerName: Buffer;
  noack: boolean;
}

/** Finds or creates the reading consumer (propagating its creation under NOACK, where no XCLAIM implies it). */
export function readingConsumer(ctx: Keyspace, db: Db, key: Buffer, gr: GroupRead, props: Buffer[][]): Consumer {
  let c = gr.group.lookupConsumer(gr.consumerName, ctx.t, true);
  if (c === undefined) {
    c = gr.group.createConsumer(gr.consumerName, ctx.t)!;
    ctx.dirty++;
    ctx.notify(db.id, 'xgroup-createconsumer', key, 't');
    if (gr.noack) props.push([B_XGROUP, B_CREATECONSUMER, key, gr.groupName, gr.consumerName]);
  }
  return c;
}

export function subcommandError(argv: Buffer[], cmd: string): ErrorReply {
  return new ErrorReply(`ERR unknown subcommand or wrong number of arguments for '${argv[1]!.toString('latin1')}'. Try ${cmd} HELP.`);
}

export function checkSub(argv: Buffer[], cmd: string, arities: Record<string, number>): string | ErrorReply {
  const sub = argv[1]!.toString('latin1').toLowerCase();
  const ar = Object.hasOwn(arities, sub) ? arities[sub]! : undefined;
  if (ar === undefined) return new ErrorReply(`ERR unknown subcommand '${argv[1]!.toString('latin1')}'. Try ${cmd} HELP.`);
  if (ar >= 0 ? argv.length !== ar : argv.length < -ar) return new ErrorReply(`ERR wrong number of arguments for '${cmd.toLowerCase()}|${sub}' command`);
  return sub;
}

export function noGroup(argv: Buffer[]): ErrorReply {
  return new ErrorReply(`NOGROUP No such key '${argv[1]!.toString('latin1')}' or consumer group '${argv[2]!.toString('latin1')}'`);
}

/** The stream argv[1] and its group argv[2] (XCLAIM, XAUTOCLAIM), or WRONGTYPE/NOGROUP. */
export function streamGroup(ctx: Keyspace, db: Db, argv: Buffer[]): [Stream, ConsumerGroup] | ErrorReply {
  const e = getStream(ctx, db, kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  const s = e === undefined ? undefined : (e.v as Stream);
  const g = s?.groups.get(argv[2]!.toString('latin1'));
  return s === undefined || g === undefined ? noGroup(argv) : [s, g];
}
