/** XINFO STREAM/GROUPS/CONSUMERS. */
import type { Keyspace, Impl } from './keyspace.js';
import { ErrorReply, RespMap, type Reply } from '../wire/reply.js';
import { eqi, keyString as kstr } from './store.js';
import { E_NOT_INT, E_NO_KEY } from './replies.js';
import { ENTRIES_READ_INVALID, ID_MAX, ID_MIN, Stream, idBuffer } from './stream.js';
import {
  checkSub,
  entryReply,
  getStream,
  parseLL,
  subcommandError,
} from './stream-args.js';

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

function streamInfo(ctx: Keyspace, s: Stream, argv: Buffer[]): Reply {
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

export const xinfo: Impl = (ctx, client, argv) => {
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
