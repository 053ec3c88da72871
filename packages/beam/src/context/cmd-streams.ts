import type { ClientState } from './api.js';
import type { Keyspace, Impl } from './keyspace.js';
import { ErrorReply, NULL_ARRAY, RespMap, type Reply } from '../wire/reply.js';
import { T_STREAM, eqi, keyString as kstr } from './store.js';
import { E_NOT_INT, E_SYNTAX, wrongArgs } from './replies.js';
import { ConsumerGroup, ID_MAX, Stream, idBuffer, idMs, idSeq, parseId, type Consumer, type StreamId, type TrimArgs } from './stream.js';
import {
  B_EQUALS,
  E_EXHAUSTED,
  E_ID_SMALL,
  E_ID_ZERO,
  E_INVALID_ID,
  E_TIMEOUT_INT,
  E_TIMEOUT_NEG,
  E_TIMEOUT_RANGE,
  type GroupRead,
  MASK64,
  entryReply,
  getStream,
  intervalId,
  num,
  parseLL,
  readingConsumer,
  setidArgv,
  strictId,
  xclaimArgv,
} from './stream-args.js';
import { xgroup, xsetid, xack, xpending, xclaim, xautoclaim, xdel } from './cmd-stream-groups.js';
import { xinfo } from './cmd-stream-info.js';

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
function parseAddTrim(ctx: Keyspace, client: ClientState, argv: Buffer[], xadd: boolean): AddTrimArgs | ErrorReply {
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

function xrangeGeneric(ctx: Keyspace, client: ClientState, argv: Buffer[], rev: boolean): Reply {
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









/** streamReplyWithRange for XREAD/XREADGROUP: entries after `start`, moving the group and its PEL. */
function deliver(ctx: Keyspace, s: Stream, key: Buffer, start: StreamId, count: number, gr: GroupRead | null, consumer: Consumer | null, props: Buffer[][]): Reply[] {
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
function deliverHistory(ctx: Keyspace, s: Stream, start: StreamId, count: number, consumer: Consumer): Reply[] {
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
function parseMsTimeout(ctx: Keyspace, b: Buffer): number | ErrorReply {
  const v = parseLL(b);
  if (v === null) return E_TIMEOUT_INT;
  if (v < 0n) return E_TIMEOUT_NEG;
  if (v === 0n) return 0;
  if (v > 9223372036854775807n - BigInt(ctx.t)) return E_TIMEOUT_RANGE;
  return ctx.t + Number(v);
}

const XREAD_BLOCKED_DEFAULT_COUNT = 1000;

function xreadGeneric(ctx: Keyspace, client: ClientState, argv: Buffer[], group: boolean): Reply | Promise<Reply> {
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
