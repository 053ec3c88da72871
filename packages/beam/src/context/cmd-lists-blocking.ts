/** The blocking list commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP) and the serving of their waiters. */
import type { ClientState } from './api.js';
import type { Keyspace, Impl } from './keyspace.js';
import { ErrorReply, NULL_ARRAY, type Reply } from '../wire/reply.js';
import { Deque } from './deque.js';
import { type Db, type Entry, keyString as kstr } from './store.js';
import { WAIT_MOVE, WAIT_MPOP, WAIT_POP, type Waiter } from './blocking.js';
import { E_SYNTAX } from './replies.js';
import {
  B_LEFT,
  B_LMOVE,
  B_LPOP,
  B_RIGHT,
  B_RPOP,
  B_RPOPLPUSH,
  elementsRemoved,
  getList,
  moveElement,
  mpopFirst,
  parseMpop,
  parseSide,
  parseTimeout,
  popN,
} from './cmd-lists.js';

function bpop(ctx: Keyspace, client: ClientState, argv: Buffer[], left: boolean): Reply | Promise<Reply> {
  const timeout = parseTimeout(ctx, argv[argv.length - 1]!);
  if (timeout instanceof ErrorReply) return timeout;
  const db = ctx.dbs[client.db]!;
  for (let i = 1; i < argv.length - 1; i++) {
    const kb = argv[i]!;
    const key = kstr(kb);
    const e = getList(ctx, db, key);
    if (e instanceof ErrorReply) return e;
    if (e === undefined || (e.v as Deque).length === 0) continue;
    const list = e.v as Deque;
    const v = (left ? list.popFront() : list.popBack())!;
    elementsRemoved(ctx, db, kb, key, e, left, 1);
    ctx.propagateAs([[left ? B_LPOP : B_RPOP, kb]]);
    return [kb, v];
  }
  if (client.inExec) return NULL_ARRAY;
  const keyBufs = argv.slice(1, argv.length - 1);
  return ctx.block(
    {
      client,
      db: client.db,
      keys: keyBufs.map(kstr),
      keyBufs,
      kind: WAIT_POP,
      left,
      dest: null,
      destLeft: false,
      count: 0,
      legacyMove: false,
    },
    timeout,
  );
}

const blpop: Impl = (ctx, c, argv) => bpop(ctx, c, argv, true);
const brpop: Impl = (ctx, c, argv) => bpop(ctx, c, argv, false);

function bmove(
  ctx: Keyspace,
  client: ClientState,
  argv: Buffer[],
  left: boolean,
  destLeft: boolean,
  timeout: number,
  legacy: boolean,
): Reply | Promise<Reply> {
  const db = ctx.dbs[client.db]!;
  const src = kstr(argv[1]!);
  const se = getList(ctx, db, src);
  if (se instanceof ErrorReply) return se;
  if (se !== undefined && (se.v as Deque).length > 0) {
    const r = moveElement(ctx, db, argv[1]!, src, se, argv[2]!, left, destLeft);
    if (!(r instanceof ErrorReply)) {
      ctx.propagateAs([
        legacy ? [B_RPOPLPUSH, argv[1]!, argv[2]!] : [B_LMOVE, argv[1]!, argv[2]!, left ? B_LEFT : B_RIGHT, destLeft ? B_LEFT : B_RIGHT],
      ]);
    }
    return r;
  }
  if (client.inExec) return null;
  return ctx.block(
    {
      client,
      db: client.db,
      keys: [src],
      keyBufs: [argv[1]!],
      kind: WAIT_MOVE,
      left,
      dest: argv[2]!,
      destLeft,
      count: 0,
      legacyMove: legacy,
    },
    timeout,
  );
}

const blmove: Impl = (ctx, client, argv) => {
  const from = parseSide(argv[3]!);
  if (from === null) return E_SYNTAX;
  const to = parseSide(argv[4]!);
  if (to === null) return E_SYNTAX;
  const timeout = parseTimeout(ctx, argv[5]!);
  if (timeout instanceof ErrorReply) return timeout;
  return bmove(ctx, client, argv, from, to, timeout, false);
};

const brpoplpush: Impl = (ctx, client, argv) => {
  const timeout = parseTimeout(ctx, argv[3]!);
  if (timeout instanceof ErrorReply) return timeout;
  return bmove(ctx, client, argv, false, true, timeout, true);
};

const blmpop: Impl = (ctx, client, argv) => {
  const timeout = parseTimeout(ctx, argv[1]!);
  if (timeout instanceof ErrorReply) return timeout;
  const a = parseMpop(argv, 2);
  if (a instanceof ErrorReply) return a;
  const r = mpopFirst(ctx, ctx.dbs[client.db]!, a.keys, a.left, a.count);
  if (r !== undefined) return r;
  if (client.inExec) return NULL_ARRAY;
  return ctx.block(
    {
      client,
      db: client.db,
      keys: a.keys.map(kstr),
      keyBufs: a.keys,
      kind: WAIT_MPOP,
      left: a.left,
      dest: null,
      destLeft: false,
      count: a.count,
      legacyMove: false,
    },
    timeout,
  );
};

/** Serves one blocked client from a non-empty list (called by Keyspace.serveReady). */
export function serveWaiter(ctx: Keyspace, w: Waiter, db: Db, key: string, e: Entry): Reply {
  const idx = w.keys.indexOf(key);
  const kb = w.keyBufs[idx] ?? Buffer.from(key, 'latin1');
  const list = e.v as Deque;
  if (w.kind === WAIT_MOVE) {
    const r = moveElement(ctx, db, kb, key, e, w.dest!, w.left, w.destLeft);
    if (!(r instanceof ErrorReply)) {
      ctx.propagateRaw(
        db.id,
        w.legacyMove ? [B_RPOPLPUSH, kb, w.dest!] : [B_LMOVE, kb, w.dest!, w.left ? B_LEFT : B_RIGHT, w.destLeft ? B_LEFT : B_RIGHT],
      );
    }
    return r;
  }
  if (w.kind === WAIT_MPOP) {
    const out = popN(list, w.left, Math.min(w.count, list.length));
    elementsRemoved(ctx, db, kb, key, e, w.left, out.length);
    ctx.propagateRaw(db.id, [w.left ? B_LPOP : B_RPOP, kb, Buffer.from(String(out.length))]);
    return [kb, out];
  }
  const v = (w.left ? list.popFront() : list.popBack())!;
  elementsRemoved(ctx, db, kb, key, e, w.left, 1);
  ctx.propagateRaw(db.id, [w.left ? B_LPOP : B_RPOP, kb]);
  return [kb, v];
}

export const BLOCKING_LIST_COMMANDS: Record<string, Impl> = {
  blpop,
  brpop,
  blmove,
  brpoplpush,
  blmpop,
};
