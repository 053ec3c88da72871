import type { ClientState } from './api.js';
import type { Context, Impl } from './context.js';
import { ErrorReply, NULL_ARRAY, OK, RespMap, type Reply } from '../wire/reply.js';
import { T_STREAM, eqi, type Db, type Entry, keyString as kstr } from './store.js';
import { parseInt64 } from './numbers.js';
import { E_NOT_INT, E_NO_KEY, E_SYNTAX, E_WRONGTYPE, wrongArgs } from './replies.js';
import {
  ConsumerGroup,
  ENTRIES_READ_INVALID,
  ID_MAX,
  ID_MIN,
  Stream,
  idBuffer,
  idMs,
  idSeq,
  parseId,
  type Consumer,
  type Nack,
  type StreamEntry,
  type StreamId,
  type TrimArgs,
} from './stream.js';

const E_INVALID_ID = new ErrorReply('ERR Invalid stream ID specified as stream command argument');
const E_ID_SMALL = new ErrorReply('ERR The ID specified in XADD is equal or smaller than the target stream top item');
const E_ID_ZERO = new ErrorReply('ERR The ID specified in XADD must be greater than 0-0');
const E_EXHAUSTED = new ErrorReply('ERR The stream has exhausted the last possible ID, unable to add more items');
const E_BAD_START = new ErrorReply('ERR invalid start ID for the interval');
const E_BAD_END = new ErrorReply('ERR invalid end ID for the interval');
const E_TIMEOUT_INT = new ErrorReply('ERR timeout is not an integer or out of range');
const E_TIMEOUT_NEG = new ErrorReply('ERR timeout is negative');
const E_TIMEOUT_RANGE = new ErrorReply('ERR timeout is out of range');
const MASK64 = (1n << 64n) - 1n;

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
const B_EQUALS = Buffer.from('=');

const num = (n: number | bigint): Buffer => Buffer.from(String(n), 'latin1');

function getStream(ctx: Context, db: Db, key: string): Entry | undefined | ErrorReply {
  const e = ctx.lookup(db, key);
  if (e !== undefined && e.t !== T_STREAM) return E_WRONGTYPE;
  return e;
}

function parseLL(b: Buffer): bigint | null {
  const v = parseInt64(b);
  return v === null ? null : BigInt(v);
}

function strictId(b: Buffer, missingSeq = 0n): StreamId | ErrorReply {
  const p = parseId(b, missingSeq, true);
  return p === null ? E_INVALID_ID : p.id;
}

/** argv[from..] as strict IDs (XACK, XDEL): all valid or the error. */
function strictIds(argv: Buffer[], from: number): StreamId[] | ErrorReply {
  const ids: StreamId[] = [];
  for (let j = from; j < argv.length; j++) {
    const id = strictId(argv[j]!);
    if (id instanceof ErrorReply) return id;
    ids.push(id);
  }
  return ids;
}

/** streamParseIntervalIDOrReply plus the increment/decrement of an exclusive `(` bound. */
function intervalId(b: Buffer, missingSeq: bigint, start: boolean): StreamId | ErrorReply {
  const exclusive = b.length > 1 && b[0] === 0x28;
  const p = exclusive ? parseId(b.subarray(1), missingSeq, true) : parseId(b, missingSeq, false);
  if (p === null) return E_INVALID_ID;
  if (!exclusive) return p.id;
  if (start) return p.id === ID_MAX ? E_BAD_START : p.id + 1n;
  return p.id === ID_MIN ? E_BAD_END : p.id - 1n;
}

function entryReply(e: StreamEntry): Reply {
  return [idBuffer(e.id), e.fields];
}

// ---- XADD / XTRIM ----------------------------------------------------------------------------

interface AddTrimArgs {
  trim: TrimArgs | null;
  /** argv index of the trim threshold (rewritten for propagation when approximate). */
  trimIdx: number;
  noMkstream: boolean;
  id: StreamId | null;
  seqGiven: boolean;
  idx: number;
}

/** streamParseAddOrTrimArgsOrReply. */
function parseAddTrim(ctx: Context, client: ClientState, argv: Buffer[], xadd: boolean): AddTrimArgs | ErrorReply {
  const out: AddTrimArgs = { trim: null, trimIdx: 0, noMkstream: false, id: null, seqGiven: false, idx: 2 };
  let limit = 0;
  let limitGiven = false;
  let approx = false;
  let i = 2;
  for (; i < argv.length; i++) {
    const more = argv.length - 1 - i;
    const opt = argv[i]!;
    if (xadd && opt.length === 1 && opt[0] === 0x2a) break;
    const isMaxlen = eqi(opt, 'maxlen');
    if ((isMaxlen || eqi(opt, 'minid')) && more) {
      if (out.trim !== null) return new ErrorReply('ERR syntax error, MAXLEN and MINID options at the same time are not compatible');
      approx = false;
      const next = argv[i + 1]!;
      if (more >= 2 && next.length === 1 && next[0] === 0x7e) {
        approx = true;
        i++;
      } else if (more >= 2 && next.length === 1 && next[0] === 0x3d) i++;
      let maxlen = 0;
      let minid = 0n;
      if (isMaxlen) {
        const v = parseLL(argv[i + 1]!);
        if (v === null) return E_NOT_INT;
        if (v < 0n) return new ErrorReply('ERR The MAXLEN argument must be >= 0.');
        maxlen = Number(v);
      } else {
        const id = strictId(argv[i + 1]!);
        if (id instanceof ErrorReply) return id;
        minid = id;
      }
      i++;
      out.trim = { strategy: isMaxlen ? 'maxlen' : 'minid', maxlen, minid, approx: false, limit: 0 };
      out.trimIdx = i;
    } else if (eqi(opt, 'limit') && more) {
      const v = parseLL(argv[i + 1]!);
      if (v === null) return E_NOT_INT;
      if (v < 0n) return new ErrorReply('ERR The LIMIT argument must be >= 0.');
      limit = Number(v);
      limitGiven = true;
      i++;
    } else if (xadd && eqi(opt, 'nomkstream')) {
      out.noMkstream = true;
    } else if (xadd) {
      const p = parseId(opt, 0n, true, true);
      if (p === null) return E_INVALID_ID;
      out.id = p.id;
      out.seqGiven = p.seqGiven;
      break;
    } else return E_SYNTAX;
  }
  if (limit && out.trim === null) return new ErrorReply('ERR syntax error, LIMIT cannot be used without specifying a trimming strategy');
  if (!xadd && out.trim === null) return new ErrorReply('ERR syntax error, XTRIM must be called with a trimming strategy');
  if (out.trim !== null) {
    out.trim.approx = approx;
    // A master or replication link is obeyed as is: no work limit (Redis' mustObeyClient).
    if (client.internal) out.trim.limit = 0;
    else if (limitGiven) {
      if (!approx) return new ErrorReply('ERR syntax error, LIMIT cannot be used without the special ~ option');
      out.trim.limit = limit;
    } else if (approx) {
      let l = 100 * ctx.streamLimits.maxEntries;
      if (l <= 0) l = 10000;
      if (l > 1000000) l = 1000000;
      out.trim.limit = l;
    }
  }
  out.idx = i;
  return out;
}

/** What replicas get for an approximate trim: `=` and the exact threshold reached (streamRewriteTrimArgument). */
function rewriteTrim(prop: Buffer[], s: Stream, a: AddTrimArgs): void {
  if (!a.trim?.approx) return;
  prop[a.trimIdx - 1] = B_EQUALS;
  prop[a.trimIdx] = a.trim.strategy === 'maxlen' ? num(s.length) : idBuffer(s.edgeId(true));
}

const xadd: Impl = (ctx, client, argv) => {
  const a = parseAddTrim(ctx, client, argv, true);
  if (a instanceof ErrorReply) return a;
  const fieldPos = a.idx + 1;
  const nf = argv.length - fieldPos;
  if (nf < 2 || nf % 2 === 1) return wrongArgs('xadd');
  if (a.id !== null && a.seqGiven && a.id === 0n) return E_ID_ZERO;
  const db = ctx.dbs[client.db]!;
  const key = kstr(argv[1]!);
  const found = getStream(ctx, db, key);
  if (found instanceof ErrorReply) return found;
  if (found === undefined && a.noMkstream) return null;
  const s = found === undefined ? new Stream() : (found.v as Stream);
  if (s.lastId === ID_MAX) return E_EXHAUSTED;
  let id: StreamId | null;
  if (a.id === null) id = s.nextId(ctx.t);
  else if (a.seqGiven) id = a.id;
  else if (idMs(a.id) === idMs(s.lastId)) id = idSeq(s.lastId) === MASK64 ? null : s.lastId + 1n;
  else id = a.id;
  if (id === null || id <= s.lastId) return E_ID_SMALL;
  if (found === undefined) ctx.addKey(db, key, T_STREAM, s);
  s.append(id, argv.slice(fieldPos), ctx.streamLimits);
  const idb = idBuffer(id);
  ctx.notify(db.id, 'xadd', argv[1]!, 't');
  ctx.dirty++;
  const prop = argv.slice();
  if (a.trim !== null) {
    if (s.trim(a.trim)) ctx.notify(db.id, 'xtrim', argv[1]!, 't');
    rewriteTrim(prop, s, a);
  }
  if (a.id === null || !a.seqGiven) prop[a.idx] = idb;
  ctx.propagateAs([prop]);
  ctx.signalList(db, key);
  return idb;
};

const xtrim: Impl = (ctx, client, argv) => {
  const a = parseAddTrim(ctx, client, argv, false);
  if (a instanceof ErrorReply) return a;
  const db = ctx.dbs[client.db]!;
  const e = getStream(ctx, db, kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  if (e === undefined) return 0;
  const s = e.v as Stream;
  const deleted = s.trim(a.trim!);
  if (deleted) {
    ctx.notify(db.id, 'xtrim', argv[1]!, 't');
    const prop = argv.slice();
    rewriteTrim(prop, s, a);
    ctx.propagateAs([prop]);
    ctx.dirty += deleted;
  }
  return deleted;
};

// ---- reads -----------------------------------------------------------------------------------

function xrangeGeneric(ctx: Context, client: ClientState, argv: Buffer[], rev: boolean): Reply {
  const start = intervalId(rev ? argv[3]! : argv[2]!, 0n, true);
  if (start instanceof ErrorReply) return start;
  const end = intervalId(rev ? argv[2]! : argv[3]!, MASK64, false);
  if (end instanceof ErrorReply) return end;
  let count = -1;
  for (let j = 4; j < argv.length; j++) {
    if (eqi(argv[j]!, 'count') && j + 1 < argv.length) {
      const v = parseLL(argv[j + 1]!);
      if (v === null) return E_NOT_INT;
      count = v < 0n ? 0 : Number(v);
      j++;
    } else return E_SYNTAX;
  }
  const e = getStream(ctx, ctx.dbs[client.db]!, kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  if (e === undefined) return [];
  if (count === 0) return NULL_ARRAY;
  const out: Reply[] = [];
  for (const en of (e.v as Stream).range(start, end, rev)) {
    out.push(entryReply(en));
    if (out.length === count) break;
  }
  return out;
}

const xrange: Impl = (ctx, client, argv) => xrangeGeneric(ctx, client, argv, false);
const xrevrange: Impl = (ctx, client, argv) => xrangeGeneric(ctx, client, argv, true);

const xlen: Impl = (ctx, client, argv) => {
  const e = getStream(ctx, ctx.dbs[client.db]!, kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  return e === undefined ? 0 : (e.v as Stream).length;
};

// ---- consumer group delivery -------------------------------------------------------------------

function xclaimArgv(key: Buffer, g: ConsumerGroup, groupName: Buffer, id: Buffer, nack: Nack): Buffer[] {
  return [B_XCLAIM, key, groupName, nack.consumer.name, B_ZERO, id, B_TIME, num(nack.deliveryTime), B_RETRYCOUNT,
    num(nack.deliveryCount), B_FORCE, B_JUSTID, B_LASTID, idBuffer(g.lastId)];
}

function setidArgv(key: Buffer, g: ConsumerGroup, groupName: Buffer): Buffer[] {
  return [B_XGROUP, B_SETID, key, groupName, idBuffer(g.lastId), B_ENTRIESREAD, num(g.entriesRead)];
}

interface GroupRead {
  group: ConsumerGroup;
  groupName: Buffer;
  consumerName: Buffer;
  noack: boolean;
}

/** Finds or creates the reading consumer (propagating its creation under NOACK, where no XCLAIM implies it). */
function readingConsumer(ctx: Context, db: Db, key: Buffer, gr: GroupRead, props: Buffer[][]): Consumer {
  let c = gr.group.lookupConsumer(gr.consumerName, ctx.t, true);
  if (c === undefined) {
    c = gr.group.createConsumer(gr.consumerName, ctx.t)!;
    ctx.dirty++;
    ctx.notify(db.id, 'xgroup-createconsumer', key, 't');
    if (gr.noack) props.push([B_XGROUP, B_CREATECONSUMER, key, gr.groupName, gr.consumerName]);
  }
  return c;
}

/** streamReplyWithRange for XREAD/XREADGROUP: entries after `start`, moving the group and its PEL. */
function deliver(ctx: Context, s: Stream, key: Buffer, start: StreamId, count: number, gr: GroupRead | null, consumer: Consumer | null, props: Buffer[][]): Reply[] {
  const out: Reply[] = [];
  let propagateLast = false;
  for (const e of s.range(start, ID_MAX)) {
    if (gr !== null && s.advanceGroup(gr.group, e.id) && gr.noack) propagateLast = true;
    out.push(entryReply(e));
    if (gr !== null && consumer !== null && !gr.noack) {
      const g = gr.group;
      let nack = g.pel.get(e.id);
      if (nack === undefined) {
        nack = { consumer, deliveryTime: ctx.t, deliveryCount: 1 };
        g.pel.set(e.id, nack);
      } else {
        nack.consumer.pel.delete(e.id);
        nack.consumer = consumer;
        nack.deliveryTime = ctx.t;
        nack.deliveryCount = 1;
      }
      consumer.pel.set(e.id, nack);
      props.push(xclaimArgv(key, g, gr.groupName, idBuffer(e.id), nack));
    }
    if (count && out.length === count) break;
  }
  if (gr !== null && propagateLast) props.push(setidArgv(key, gr.group, gr.groupName));
  return out;
}

/** XREADGROUP with an ID other than `>`: the consumer's own pending entries (streamReplyWithRangeFromConsumerPEL). */
function deliverHistory(ctx: Context, s: Stream, start: StreamId, count: number, consumer: Consumer): Reply[] {
  const out: Reply[] = [];
  const ids = [...consumer.pel.keys()].filter((id) => id >= start).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const id of ids) {
    if (count && out.length >= count) break;
    const e = s.get(id);
    if (e === undefined) out.push([idBuffer(id), NULL_ARRAY]);
    else {
      out.push(entryReply(e));
      const nack = consumer.pel.get(id)!;
      nack.deliveryTime = ctx.t;
      nack.deliveryCount++;
    }
  }
  return out;
}

function keyedReply(client: ClientState, items: Array<[Buffer, Reply]>): Reply {
  return client.resp === 3 ? new RespMap(items) : items.map(([k, v]) => [k, v]);
}

/** getTimeoutFromObjectOrReply(UNIT_MILLISECONDS): absolute deadline in ms, 0 = forever. */
function parseMsTimeout(ctx: Context, b: Buffer): number | ErrorReply {
  const v = parseLL(b);
  if (v === null) return E_TIMEOUT_INT;
  if (v < 0n) return E_TIMEOUT_NEG;
  if (v === 0n) return 0;
  if (v > 9223372036854775807n - BigInt(ctx.t)) return E_TIMEOUT_RANGE;
  return ctx.t + Number(v);
}

const XREAD_BLOCKED_DEFAULT_COUNT = 1000;

function xreadGeneric(ctx: Context, client: ClientState, argv: Buffer[], group: boolean): Reply | Promise<Reply> {
  let timeout = -1;
  let count = 0;
  let streamsArg = 0;
  let noack = false;
  let groupName: Buffer | null = null;
  let consumerName: Buffer | null = null;
  for (let i = 1; i < argv.length; i++) {
    const more = argv.length - i - 1;
    const o = argv[i]!;
    if (eqi(o, 'block') && more) {
      if (client.script === true) return new ErrorReply(`ERR ${argv[0]!.toString('latin1')} command is not allowed with BLOCK option from scripts`);
      i++;
      const t = parseMsTimeout(ctx, argv[i]!);
      if (t instanceof ErrorReply) return t;
      timeout = t;
    } else if (eqi(o, 'count') && more) {
      i++;
      const v = parseLL(argv[i]!);
      if (v === null) return E_NOT_INT;
      count = v < 0n ? 0 : Number(v);
    } else if (eqi(o, 'streams') && more) {
      streamsArg = i + 1;
      if ((argv.length - streamsArg) % 2 !== 0) {
        return new ErrorReply("ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.");
      }
      break;
    } else if (eqi(o, 'group') && more >= 2) {
      if (!group) return new ErrorReply('ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.');
      groupName = argv[i + 1]!;
      consumerName = argv[i + 2]!;
      i += 2;
    } else if (eqi(o, 'noack')) {
      if (!group) return new ErrorReply('ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.');
      noack = true;
    } else return E_SYNTAX;
  }
  if (streamsArg === 0) return E_SYNTAX;
  if (group && groupName === null) return new ErrorReply('ERR Missing GROUP option for XREADGROUP');
  const n = (argv.length - streamsArg) / 2;
  const db = ctx.dbs[client.db]!;
  const ids: StreamId[] = [];
  const groups: ConsumerGroup[] = [];
  for (let k = 0; k < n; k++) {
    const keyBuf = argv[streamsArg + k]!;
    const idArg = argv[streamsArg + n + k]!;
    const e = getStream(ctx, db, kstr(keyBuf));
    if (e instanceof ErrorReply) return e;
    const s = e === undefined ? undefined : (e.v as Stream);
    if (groupName !== null) {
      const g = s?.groups.get(groupName.toString('latin1'));
      if (g === undefined) {
        return new ErrorReply(`NOGROUP No such key '${keyBuf.toString('latin1')}' or consumer group '${groupName.toString('latin1')}' in XREADGROUP with GROUP option`);
      }
      groups.push(g);
    }
    const t = idArg.toString('latin1');
    if (t === '$') {
      if (group) {
        return new ErrorReply('ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.');
      }
      ids.push(s === undefined ? 0n : s.lastId);
    } else if (t === '>') {
      if (!group) return new ErrorReply('ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.');
      ids.push(ID_MAX);
    } else {
      const id = strictId(idArg);
      if (id instanceof ErrorReply) return id;
      ids.push(id);
    }
  }
  const props: Buffer[][] = [];
  const items: Array<[Buffer, Reply]> = [];
  for (let k = 0; k < n; k++) {
    const keyBuf = argv[streamsArg + k]!;
    const e = ctx.lookup(db, kstr(keyBuf));
    if (e === undefined) continue;
    const s = e.v as Stream;
    let gt = ids[k]!;
    let sync = false;
    let history = false;
    const g = groups[k];
    if (g !== undefined) {
      if (gt !== ID_MAX) sync = history = true;
      else if (s.length && s.lastValidId() > g.lastId) {
        sync = true;
        gt = g.lastId;
      }
    } else if (s.length && s.lastValidId() > gt) sync = true;
    if (!sync) continue;
    const start = gt === ID_MAX ? gt : gt + 1n;
    if (g !== undefined) {
      const gr: GroupRead = { group: g, groupName: groupName!, consumerName: consumerName!, noack };
      const consumer = readingConsumer(ctx, db, keyBuf, gr, props);
      items.push([keyBuf, history ? deliverHistory(ctx, s, start, count, consumer) : deliver(ctx, s, keyBuf, start, count, gr, consumer, props)]);
      ctx.dirty++;
    } else {
      items.push([keyBuf, deliver(ctx, s, keyBuf, start, count, null, null, props)]);
    }
  }
  ctx.propagateAs(props);
  if (items.length > 0) return keyedReply(client, items);
  if (timeout === -1 || client.inExec) return NULL_ARRAY;
  const keyBufs = argv.slice(streamsArg, streamsArg + n);
  const blockCount = count || XREAD_BLOCKED_DEFAULT_COUNT;
  return ctx.blockServed(
    client,
    keyBufs,
    (sdb, key, e) => {
      const idx = keyBufs.findIndex((b) => kstr(b) === key);
      const keyBuf = keyBufs[idx]!;
      if (e === undefined || e.t !== T_STREAM) {
        // A deleted (or retyped) stream ends XREADGROUP's wait; XREAD keeps waiting.
        return groupName !== null ? new ErrorReply('UNBLOCKED the stream key no longer exists') : undefined;
      }
      const s = e.v as Stream;
      let gt = ids[idx]!;
      let gr: GroupRead | null = null;
      if (groupName !== null) {
        const g = s.groups.get(groupName.toString('latin1'));
        if (g === undefined) return new ErrorReply('NOGROUP the consumer group this client was blocked on no longer exists');
        gt = g.lastId;
        gr = { group: g, groupName, consumerName: consumerName!, noack };
      }
      if (!(s.lastId > gt)) return undefined;
      const sprops: Buffer[][] = [];
      const consumer = gr === null ? null : readingConsumer(ctx, sdb, keyBuf, gr, sprops);
      const entries = deliver(ctx, s, keyBuf, gt + 1n, blockCount, gr, consumer, sprops);
      for (const p of sprops) ctx.propagateRaw(sdb.id, p);
      return keyedReply(client, [[keyBuf, entries]]);
    },
    timeout,
  );
}

const xread: Impl = (ctx, client, argv) => xreadGeneric(ctx, client, argv, false);
const xreadgroup: Impl = (ctx, client, argv) => xreadGeneric(ctx, client, argv, true);

// ---- groups --------------------------------------------------------------------------------

const XGROUP_HELP = [
  'XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CREATE <key> <groupname> <id|$> [option]',
  '    Create a new consumer group. Options are:',
  '    * MKSTREAM',
  '      Create the empty stream if it does not exist.',
  '    * ENTRIESREAD entries_read',
  "      Set the group's entries_read counter (internal use).",
  'CREATECONSUMER <key> <groupname> <consumer>',
  '    Create a new consumer in the specified group.',
  'DELCONSUMER <key> <groupname> <consumer>',
  '    Remove the specified consumer.',
  'DESTROY <key> <groupname>',
  '    Remove the specified group.',
  'SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]',
  '    Set the current group ID and entries_read counter.',
  'HELP',
  '    Print this help.',
];

const XGROUP_ARITY: Record<string, number> = { create: -5, setid: -5, destroy: 4, createconsumer: 5, delconsumer: 5, help: 2 };

function subcommandError(argv: Buffer[], cmd: string): ErrorReply {
  return new ErrorReply(`ERR unknown subcommand or wrong number of arguments for '${argv[1]!.toString('latin1')}'. Try ${cmd} HELP.`);
}

function checkSub(argv: Buffer[], cmd: string, arities: Record<string, number>): string | ErrorReply {
  const sub = argv[1]!.toString('latin1').toLowerCase();
  const ar = Object.hasOwn(arities, sub) ? arities[sub]! : undefined;
  if (ar === undefined) return new ErrorReply(`ERR unknown subcommand '${argv[1]!.toString('latin1')}'. Try ${cmd} HELP.`);
  if (ar >= 0 ? argv.length !== ar : argv.length < -ar) return new ErrorReply(`ERR wrong number of arguments for '${cmd.toLowerCase()}|${sub}' command`);
  return sub;
}

const xgroup: Impl = (ctx, client, argv) => {
  const sub = checkSub(argv, 'XGROUP', XGROUP_ARITY);
  if (sub instanceof ErrorReply) return sub;
  if (sub === 'help') return XGROUP_HELP;
  const db = ctx.dbs[client.db]!;
  const keyBuf = argv[2]!;
  const key = kstr(keyBuf);
  let mkstream = false;
  let entriesRead = ENTRIES_READ_INVALID;
  for (let i = 5; i < argv.length; ) {
    if (sub === 'create' && eqi(argv[i]!, 'mkstream')) {
      mkstream = true;
      i++;
    } else if ((sub === 'create' || sub === 'setid') && eqi(argv[i]!, 'entriesread') && i + 1 < argv.length) {
      const v = parseLL(argv[i + 1]!);
      if (v === null) return E_NOT_INT;
      if (v < 0n && v !== -1n) return new ErrorReply('ERR value for ENTRIESREAD must be positive or -1');
      entriesRead = Number(v);
      i += 2;
    } else return subcommandError(argv, 'XGROUP');
  }
  if (sub === 'setid' && argv.length !== 5 && argv.length !== 7) return subcommandError(argv, 'XGROUP');
  if (sub === 'create' && argv.length > 8) return subcommandError(argv, 'XGROUP');
  const e = getStream(ctx, db, key);
  if (e instanceof ErrorReply) return e;
  let s = e === undefined ? undefined : (e.v as Stream);
  const gname = argv[3]!;
  const g = s?.groups.get(gname.toString('latin1'));
  if (!mkstream) {
    if (s === undefined) {
      return new ErrorReply('ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.');
    }
    if (g === undefined && (sub === 'setid' || sub === 'createconsumer' || sub === 'delconsumer')) {
      return new ErrorReply(`NOGROUP No such consumer group '${gname.toString('latin1')}' for key name '${keyBuf.toString('latin1')}'`);
    }
  }
  switch (sub) {
    case 'create': {
      let id: StreamId;
      if (argv[4]!.toString('latin1') === '$') id = s === undefined ? 0n : s.lastId;
      else {
        const p = strictId(argv[4]!);
        if (p instanceof ErrorReply) return p;
        id = p;
      }
      if (s === undefined) {
        s = new Stream();
        ctx.addKey(db, key, T_STREAM, s);
      }
      if (s.groups.has(gname.toString('latin1'))) return new ErrorReply('BUSYGROUP Consumer Group name already exists');
      s.groups.set(gname.toString('latin1'), new ConsumerGroup(Buffer.from(gname), id, entriesRead));
      ctx.dirty++;
      ctx.notify(db.id, 'xgroup-create', keyBuf, 't');
      return OK;
    }
    case 'setid': {
      let id: StreamId;
      if (argv[4]!.toString('latin1') === '$') id = s!.lastId;
      else {
        const p = parseId(argv[4]!, 0n, false);
        if (p === null) return E_INVALID_ID;
        id = p.id;
      }
      g!.lastId = id;
      g!.entriesRead = entriesRead;
      ctx.dirty++;
      ctx.notify(db.id, 'xgroup-setid', keyBuf, 't');
      return OK;
    }
    case 'destroy':
      if (g === undefined) return 0;
      s!.groups.delete(gname.toString('latin1'));
      ctx.dirty++;
      ctx.notify(db.id, 'xgroup-destroy', keyBuf, 't');
      ctx.signalList(db, key);
      return 1;
    case 'createconsumer': {
      const c = g!.createConsumer(argv[4]!, ctx.t);
      if (c === undefined) return 0;
      ctx.dirty++;
      ctx.notify(db.id, 'xgroup-createconsumer', keyBuf, 't');
      return 1;
    }
    default: {
      const c = g!.lookupConsumer(argv[4]!, ctx.t, false);
      if (c === undefined) return 0;
      const pending = g!.deleteConsumer(c);
      ctx.dirty++;
      ctx.notify(db.id, 'xgroup-delconsumer', keyBuf, 't');
      return pending;
    }
  }
};

const xsetid: Impl = (ctx, client, argv) => {
  const id = strictId(argv[2]!);
  if (id instanceof ErrorReply) return id;
  let entriesAdded = -1;
  let maxDel = 0n;
  for (let i = 3; i < argv.length; ) {
    const more = argv.length - 1 - i;
    if (eqi(argv[i]!, 'entriesadded') && more) {
      const v = parseLL(argv[i + 1]!);
      if (v === null) return E_NOT_INT;
      if (v < 0n) return new ErrorReply('ERR entries_added must be positive');
      entriesAdded = Number(v);
      i += 2;
    } else if (eqi(argv[i]!, 'maxdeletedid') && more) {
      const m = strictId(argv[i + 1]!);
      if (m instanceof ErrorReply) return m;
      if (id < m) return new ErrorReply('ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id');
      maxDel = m;
      i += 2;
    } else return E_SYNTAX;
  }
  const db = ctx.dbs[client.db]!;
  const e = getStream(ctx, db, kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  if (e === undefined) return E_NO_KEY;
  const s = e.v as Stream;
  if (s.length > 0) {
    if (id < s.lastValidId()) return new ErrorReply('ERR The ID specified in XSETID is smaller than the target stream top item');
    if (entriesAdded !== -1 && s.length > entriesAdded) return new ErrorReply('ERR The entries_added specified in XSETID is smaller than the target stream length');
  }
  s.lastId = id;
  if (entriesAdded !== -1) s.entriesAdded = entriesAdded;
  if (maxDel !== 0n) s.maxDeletedId = maxDel;
  ctx.dirty++;
  ctx.notify(db.id, 'xsetid', argv[1]!, 't');
  return OK;
};

const xack: Impl = (ctx, client, argv) => {
  const e = getStream(ctx, ctx.dbs[client.db]!, kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  const g = e === undefined ? undefined : (e.v as Stream).groups.get(argv[2]!.toString('latin1'));
  if (g === undefined) return 0;
  const ids = strictIds(argv, 3);
  if (ids instanceof ErrorReply) return ids;
  let n = 0;
  for (const id of ids) {
    const nack = g.pel.get(id);
    if (nack === undefined) continue;
    g.pel.delete(id);
    nack.consumer.pel.delete(id);
    n++;
    ctx.dirty++;
  }
  return n;
};

function noGroup(argv: Buffer[]): ErrorReply {
  return new ErrorReply(`NOGROUP No such key '${argv[1]!.toString('latin1')}' or consumer group '${argv[2]!.toString('latin1')}'`);
}

const xpending: Impl = (ctx, client, argv) => {
  const justInfo = argv.length === 3;
  if (argv.length !== 3 && (argv.length < 6 || argv.length > 9)) return E_SYNTAX;
  let minIdle = 0;
  let start = 0n;
  let end = 0n;
  let count = 0;
  let consumerName: Buffer | null = null;
  if (!justInfo) {
    let si = 3;
    if (eqi(argv[3]!, 'idle')) {
      const v = parseLL(argv[4]!);
      if (v === null) return E_NOT_INT;
      minIdle = Number(v);
      if (argv.length < 8) return E_SYNTAX;
      si += 2;
    }
    const c = parseLL(argv[si + 2]!);
    if (c === null) return E_NOT_INT;
    count = c < 0n ? 0 : Number(c);
    const s0 = intervalId(argv[si]!, 0n, true);
    if (s0 instanceof ErrorReply) return s0;
    const e0 = intervalId(argv[si + 1]!, MASK64, false);
    if (e0 instanceof ErrorReply) return e0;
    start = s0;
    end = e0;
    if (si + 3 < argv.length) consumerName = argv[si + 3]!;
  }
  const e = getStream(ctx, ctx.dbs[client.db]!, kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  const g = e === undefined ? undefined : (e.v as Stream).groups.get(argv[2]!.toString('latin1'));
  if (g === undefined) return noGroup(argv);
  if (justInfo) {
    if (g.pel.size === 0) return [0, null, null, NULL_ARRAY];
    const ids = g.sortedPel();
    const per: Reply[] = [];
    for (const c of g.sortedConsumers()) if (c.pel.size > 0) per.push([c.name, num(c.pel.size)]);
    return [g.pel.size, idBuffer(ids[0]!), idBuffer(ids[ids.length - 1]!), per];
  }
  let pel = g.pel;
  if (consumerName !== null) {
    const c = g.lookupConsumer(consumerName, ctx.t, false);
    if (c === undefined) return [];
    pel = c.pel;
  }
  const out: Reply[] = [];
  const now = ctx.now();
  for (const id of g.sortedPel(pel)) {
    if (!count) break;
    if (id < start) continue;
    if (id > end) break;
    const nack = pel.get(id)!;
    if (minIdle && now - nack.deliveryTime < minIdle) continue;
    count--;
    out.push([idBuffer(id), nack.consumer.name, Math.max(0, now - nack.deliveryTime), nack.deliveryCount]);
  }
  return out;
};

/** The stream argv[1] and its group argv[2] (XCLAIM, XAUTOCLAIM), or WRONGTYPE/NOGROUP. */
function streamGroup(ctx: Context, db: Db, argv: Buffer[]): [Stream, ConsumerGroup] | ErrorReply {
  const e = getStream(ctx, db, kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  const s = e === undefined ? undefined : (e.v as Stream);
  const g = s?.groups.get(argv[2]!.toString('latin1'));
  return s === undefined || g === undefined ? noGroup(argv) : [s, g];
}

function claimTo(g: ConsumerGroup, id: StreamId, nack: Nack, consumer: Consumer): void {
  if (nack.consumer !== consumer) {
    nack.consumer?.pel.delete(id);
    nack.consumer = consumer;
    consumer.pel.set(id, nack);
  }
  g.pel.set(id, nack);
}

function dropNack(g: ConsumerGroup, id: StreamId, nack: Nack): void {
  g.pel.delete(id);
  nack.consumer?.pel.delete(id);
}

const xclaim: Impl = (ctx, client, argv) => {
  const db = ctx.dbs[client.db]!;
  const sg = streamGroup(ctx, db, argv);
  if (sg instanceof ErrorReply) return sg;
  const [s, g] = sg;
  const mi = parseLL(argv[4]!);
  if (mi === null) return new ErrorReply('ERR Invalid min-idle-time argument for XCLAIM');
  const minIdle = mi < 0n ? 0 : Number(mi);
  const ids: StreamId[] = [];
  let j = 5;
  for (; j < argv.length; j++) {
    const p = parseId(argv[j]!, 0n, true);
    if (p === null) break;
    ids.push(p.id);
  }
  const now = ctx.now();
  let deliveryTime = -1;
  let retryCount = -1;
  let force = false;
  let justId = false;
  let lastId = 0n;
  for (; j < argv.length; j++) {
    const more = argv.length - 1 - j;
    const o = argv[j]!;
    if (eqi(o, 'force')) force = true;
    else if (eqi(o, 'justid')) justId = true;
    else if (eqi(o, 'idle') && more) {
      const v = parseLL(argv[++j]!);
      if (v === null) return new ErrorReply('ERR Invalid IDLE option argument for XCLAIM');
      deliveryTime = now - Number(v);
    } else if (eqi(o, 'time') && more) {
      const v = parseLL(argv[++j]!);
      if (v === null) return new ErrorReply('ERR Invalid TIME option argument for XCLAIM');
      deliveryTime = Number(v);
    } else if (eqi(o, 'retrycount') && more) {
      const v = parseLL(argv[++j]!);
      if (v === null) return new ErrorReply('ERR Invalid RETRYCOUNT option argument for XCLAIM');
      retryCount = Number(v);
    } else if (eqi(o, 'lastid') && more) {
      const id = strictId(argv[++j]!);
      if (id instanceof ErrorReply) return id;
      lastId = id;
    } else return new ErrorReply(`ERR Unrecognized XCLAIM option '${o.toString('latin1')}'`);
  }
  const props: Buffer[][] = [];
  let propagateLast = false;
  if (lastId > g.lastId) {
    g.lastId = lastId;
    propagateLast = true;
  }
  if (deliveryTime === -1 || deliveryTime < 0 || deliveryTime > now) deliveryTime = now;
  let consumer: Consumer | undefined;
  const out: Reply[] = [];
  const keyBuf = argv[1]!;
  const gname = argv[2]!;
  for (let k = 0; k < ids.length; k++) {
    const id = ids[k]!;
    const idArg = argv[5 + k]!;
    let nack = g.pel.get(id);
    if (s.get(id) === undefined) {
      if (nack !== undefined) {
        props.push(xclaimArgv(keyBuf, g, gname, idArg, nack));
        propagateLast = false;
        ctx.dirty++;
        dropNack(g, id, nack);
      }
      continue;
    }
    if (force && nack === undefined) {
      nack = { consumer: undefined as unknown as Consumer, deliveryTime: now, deliveryCount: 0 };
      g.pel.set(id, nack);
    }
    if (nack === undefined) continue;
    if (nack.consumer !== undefined && minIdle && now - nack.deliveryTime < minIdle) continue;
    if (consumer === undefined) consumer = readingConsumer(ctx, db, keyBuf, { group: g, groupName: gname, consumerName: argv[3]!, noack: false }, props);
    claimTo(g, id, nack, consumer);
    nack.deliveryTime = deliveryTime;
    if (retryCount >= 0) nack.deliveryCount = retryCount;
    else if (!justId) nack.deliveryCount++;
    out.push(justId ? idBuffer(id) : entryReply(s.get(id)!));
    props.push(xclaimArgv(keyBuf, g, gname, idArg, nack));
    propagateLast = false;
    ctx.dirty++;
  }
  if (propagateLast) {
    props.push(setidArgv(keyBuf, g, gname));
    ctx.dirty++;
  }
  ctx.propagateAs(props);
  return out;
};

const xautoclaim: Impl = (ctx, client, argv) => {
  const mi = parseLL(argv[4]!);
  if (mi === null) return new ErrorReply('ERR Invalid min-idle-time argument for XAUTOCLAIM');
  const minIdle = mi < 0n ? 0 : Number(mi);
  const start = intervalId(argv[5]!, 0n, true);
  if (start instanceof ErrorReply) return start;
  let count = 100;
  let justId = false;
  for (let j = 6; j < argv.length; j++) {
    const more = argv.length - 1 - j;
    if (eqi(argv[j]!, 'count') && more) {
      const v = parseLL(argv[j + 1]!);
      const max = Math.floor(9223372036854775807 / 16);
      if (v === null || v < 1n || v > BigInt(max)) return new ErrorReply('ERR COUNT must be > 0');
      count = Number(v);
      j++;
    } else if (eqi(argv[j]!, 'justid')) justId = true;
    else return E_SYNTAX;
  }
  const db = ctx.dbs[client.db]!;
  const sg = streamGroup(ctx, db, argv);
  if (sg instanceof ErrorReply) return sg;
  const [s, g] = sg;
  let attempts = count * 10;
  const now = ctx.now();
  const keyBuf = argv[1]!;
  const gname = argv[2]!;
  const props: Buffer[][] = [];
  const out: Reply[] = [];
  const deleted: Reply[] = [];
  let consumer: Consumer | undefined;
  const ids = g.sortedPel().filter((id) => id >= start);
  let k = 0;
  for (; attempts-- > 0 && count > 0 && k < ids.length; k++) {
    const id = ids[k]!;
    const nack = g.pel.get(id)!;
    const idb = idBuffer(id);
    if (s.get(id) === undefined) {
      props.push(xclaimArgv(keyBuf, g, gname, idb, nack));
      ctx.dirty++;
      dropNack(g, id, nack);
      deleted.push(idb);
      count--;
      continue;
    }
    if (minIdle && now - nack.deliveryTime < minIdle) continue;
    if (consumer === undefined) consumer = readingConsumer(ctx, db, keyBuf, { group: g, groupName: gname, consumerName: argv[3]!, noack: false }, props);
    claimTo(g, id, nack, consumer);
    nack.deliveryTime = now;
    if (!justId) nack.deliveryCount++;
    out.push(justId ? idb : entryReply(s.get(id)!));
    count--;
    props.push(xclaimArgv(keyBuf, g, gname, idb, nack));
    ctx.dirty++;
  }
  const next = k < ids.length ? ids[k]! : 0n;
  ctx.propagateAs(props);
  return [idBuffer(next), out, deleted];
};

const xdel: Impl = (ctx, client, argv) => {
  const db = ctx.dbs[client.db]!;
  const e = getStream(ctx, db, kstr(argv[1]!));
  if (e instanceof ErrorReply) return e;
  if (e === undefined) return 0;
  const s = e.v as Stream;
  const ids = strictIds(argv, 2);
  if (ids instanceof ErrorReply) return ids;
  let deleted = 0;
  let first = false;
  for (const id of ids) {
    if (!s.delete(id)) continue;
    if (id === s.firstId) first = true;
    if (id > s.maxDeletedId) s.maxDeletedId = id;
    deleted++;
  }
  if (deleted) {
    if (s.length === 0) s.firstId = 0n;
    else if (first) s.firstId = s.edgeId(true);
    ctx.notify(db.id, 'xdel', argv[1]!, 't');
    ctx.dirty += deleted;
  }
  return deleted;
};

// ---- XINFO -----------------------------------------------------------------------------------

const XINFO_HELP = [
  'XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
  'CONSUMERS <key> <groupname>',
  '    Show consumers of <groupname>.',
  'GROUPS <key>',
  '    Show the stream consumer groups.',
  'STREAM <key> [FULL [COUNT <count>]',
  '    Show information about the stream.',
  'HELP',
  '    Print this help.',
];

const XINFO_ARITY: Record<string, number> = { consumers: 4, groups: 3, stream: -3, help: 2 };

function nodeCounts(s: Stream): [number, number] {
  // Redis reports its radix tree's keys (one per listpack) and nodes; a rax of n keys has about as many nodes.
  const keys = s.nodes.length;
  return [keys, keys === 0 ? 1 : keys + Math.ceil(Math.log2(keys + 1))];
}

function streamInfo(ctx: Context, s: Stream, argv: Buffer[]): Reply {
  let full = false;
  let count = 10;
  const optc = argv.length - 3;
  if (optc > 0) {
    if ((optc !== 1 && optc !== 3) || !eqi(argv[3]!, 'full')) return subcommandError(argv, 'XINFO');
    full = true;
    if (optc === 3) {
      if (!eqi(argv[4]!, 'count')) return subcommandError(argv, 'XINFO');
      const v = parseLL(argv[5]!);
      if (v === null) return E_NOT_INT;
      count = v < 0n ? 10 : Number(v);
    }
  }
  const [keys, nodes] = nodeCounts(s);
  const m: Array<[Reply, Reply]> = [
    ['length', s.length],
    ['radix-tree-keys', keys],
    ['radix-tree-nodes', nodes],
    ['last-generated-id', idBuffer(s.lastId)],
    ['max-deleted-entry-id', idBuffer(s.maxDeletedId)],
    ['entries-added', s.entriesAdded],
    ['recorded-first-entry-id', idBuffer(s.firstId)],
  ];
  if (!full) {
    m.push(['groups', s.groups.size]);
    let first: Reply = null;
    for (const e of s.range(ID_MIN, ID_MAX)) {
      first = entryReply(e);
      break;
    }
    let last: Reply = null;
    for (const e of s.range(ID_MIN, ID_MAX, true)) {
      last = entryReply(e);
      break;
    }
    m.push(['first-entry', first], ['last-entry', last]);
    return new RespMap(m);
  }
  const entries: Reply[] = [];
  for (const e of s.range(ID_MIN, ID_MAX)) {
    entries.push(entryReply(e));
    if (count && entries.length === count) break;
  }
  m.push(['entries', entries]);
  const groups: Reply[] = [];
  for (const g of s.sortedGroups()) {
    const pending: Reply[] = [];
    for (const id of g.sortedPel()) {
      if (count && pending.length >= count) break;
      const n = g.pel.get(id)!;
      pending.push([idBuffer(id), n.consumer.name, n.deliveryTime, n.deliveryCount]);
    }
    const consumers: Reply[] = [];
    for (const c of g.sortedConsumers()) {
      const cp: Reply[] = [];
      for (const id of g.sortedPel(c.pel)) {
        if (count && cp.length >= count) break;
        const n = c.pel.get(id)!;
        cp.push([idBuffer(id), n.deliveryTime, n.deliveryCount]);
      }
      consumers.push(new RespMap([['name', c.name], ['seen-time', c.seenTime], ['pel-count', c.pel.size], ['pending', cp]]));
    }
    groups.push(new RespMap([
      ['name', g.name],
      ['last-delivered-id', idBuffer(g.lastId)],
      ['entries-read', g.entriesRead === ENTRIES_READ_INVALID ? null : g.entriesRead],
      ['lag', s.lag(g)],
      ['pel-count', g.pel.size],
      ['pending', pending],
      ['consumers', consumers],
    ]));
  }
  m.push(['groups', groups]);
  void ctx;
  return new RespMap(m);
}

const xinfo: Impl = (ctx, client, argv) => {
  const sub = checkSub(argv, 'XINFO', XINFO_ARITY);
  if (sub instanceof ErrorReply) return sub;
  if (sub === 'help') return XINFO_HELP;
  const e = getStream(ctx, ctx.dbs[client.db]!, kstr(argv[2]!));
  if (e instanceof ErrorReply) return e;
  if (e === undefined) return E_NO_KEY;
  const s = e.v as Stream;
  if (sub === 'stream') return streamInfo(ctx, s, argv);
  if (sub === 'groups') {
    return s.sortedGroups().map((g) => new RespMap([
      ['name', g.name],
      ['consumers', g.consumers.size],
      ['pending', g.pel.size],
      ['last-delivered-id', idBuffer(g.lastId)],
      ['entries-read', g.entriesRead === ENTRIES_READ_INVALID ? null : g.entriesRead],
      ['lag', s.lag(g)],
    ]));
  }
  const g = s.groups.get(argv[3]!.toString('latin1'));
  if (g === undefined) {
    return new ErrorReply(`NOGROUP No such consumer group '${argv[3]!.toString('latin1')}' for key name '${argv[2]!.toString('latin1')}'`);
  }
  const now = ctx.now();
  return g.sortedConsumers().map((c) => new RespMap([['name', c.name], ['pending', c.pel.size], ['idle', Math.max(0, now - c.seenTime)]]));
};

export const STREAM_COMMANDS: Record<string, Impl> = {
  xadd,
  xrange,
  xrevrange,
  xlen,
  xread,
  xreadgroup,
  xgroup,
  xsetid,
  xack,
  xpending,
  xclaim,
  xautoclaim,
  xdel,
  xtrim,
  xinfo,
};
