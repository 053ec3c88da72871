/** Consumer groups of streams: XGROUP, XSETID, XACK, XPENDING, XCLAIM, XAUTOCLAIM, XDEL. */
import type { Impl } from './keyspace.js';
import { ErrorReply, NULL_ARRAY, OK, type Reply } from '../wire/reply.js';
import { T_STREAM, eqi, keyString as kstr } from './store.js';
import { E_NOT_INT, E_NO_KEY, E_SYNTAX } from './replies.js';
import { ConsumerGroup, ENTRIES_READ_INVALID, Stream, idBuffer, parseId, type Consumer, type Nack, type StreamId } from './stream.js';
import {
  E_INVALID_ID,
  MASK64,
  checkSub,
  entryReply,
  getStream,
  intervalId,
  noGroup,
  num,
  parseLL,
  readingConsumer,
  setidArgv,
  streamGroup,
  strictId,
  strictIds,
  subcommandError,
  xclaimArgv,
} from './stream-args.js';

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





export const xgroup: Impl = (ctx, client, argv) => {
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

export const xsetid: Impl = (ctx, client, argv) => {
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

export const xack: Impl = (ctx, client, argv) => {
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



export const xpending: Impl = (ctx, client, argv) => {
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

export const xclaim: Impl = (ctx, client, argv) => {
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

export const xautoclaim: Impl = (ctx, client, argv) => {
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

export const xdel: Impl = (ctx, client, argv) => {
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
