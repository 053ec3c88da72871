import type { CommandInvocation, CommandSpec } from '../../context/api.js';
import { memoryUsage, objectEncoding, objectRefcount } from '../../context/object-info.js';
import type { Entry } from '../../context/store.js';
import { ErrorReply, OK, RespMap, RespVerbatim, type Reply } from '../../wire/reply.js';
import type { CommandScope } from './env.js';
import { clientOf, container, E_SYNTAX, helpReply, parseIntArg, spec } from './spec.js';

const E_NO_LFU = new ErrorReply('ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.');
const E_LFU = new ErrorReply('ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.');

/** OBJECT and MEMORY: introspection of one key (encodings and sizes as Redis 7.0 would report them, see object-info.ts). */
export function memoryCommands(scope: CommandScope): CommandSpec[] {
  const { context, env } = scope;

  /** The live entry of argv[2] in the client's db, without touching it (expired keys read as missing). */
  const entryOf = (inv: CommandInvocation): [string, Entry] | undefined => {
    const db = context?.dbs[clientOf(inv).db];
    if (db === undefined) return undefined;
    const key = inv.argv[2]!.toString('latin1');
    const e = db.data.get(key);
    if (e === undefined || (e.x !== 0 && e.x <= context!.now())) return undefined;
    return [key, e];
  };
  const lfu = (): boolean => (env.config.get('maxmemory-policy') ?? '').includes('lfu');

  return [
    spec('object', -2, [], container('object', {
      encoding: { arity: 3, run: (inv) => { const ke = entryOf(inv); return ke ? objectEncoding(ke[1]) : null; } },
      refcount: { arity: 3, run: (inv) => { const ke = entryOf(inv); return ke ? objectRefcount(ke[1]) : null; } },
      idletime: {
        arity: 3,
        run: (inv) => {
          const ke = entryOf(inv);
          if (!ke) return null;
          if (lfu()) return E_LFU;
          return Math.max(0, Math.floor((context!.now() - ke[1].a) / 1000));
        },
      },
      freq: {
        arity: 3,
        run: (inv) => {
          const ke = entryOf(inv);
          if (!ke) return null;
          return lfu() ? 0 : E_NO_LFU;
        },
      },
      help: {
        arity: 2,
        run: () => helpReply([
          'OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
          'ENCODING <key>', '    Return the kind of internal representation used in order to store the value',
          '    associated with a <key>.',
          'FREQ <key>', '    Return the access frequency index of the <key>. The returned integer is',
          '    proportional to the logarithm of the recent access frequency of the key.',
          'IDLETIME <key>', '    Return the idle time of the <key>, that is the approximated number of',
          '    seconds elapsed since the last access to the key.',
          'REFCOUNT <key>', '    Return the number of references of the value associated with the specified',
          '    <key>.',
          'HELP', '    Prints this help.',
        ]),
      },
    })),

    spec('memory', -2, [], container('memory', {
      usage: {
        arity: -3,
        run: (inv) => {
          let samples = 5;
          const a = inv.argv;
          for (let i = 3; i < a.length; i++) {
            if (a[i]!.toString().toLowerCase() === 'samples' && i + 1 < a.length) {
              const n = parseIntArg(a[++i]!);
              if (n === null || n < 0) return new ErrorReply('ERR value is out of range, must be positive');
              samples = n;
            } else return E_SYNTAX;
          }
          const ke = entryOf(inv);
          return ke ? memoryUsage(ke[0], ke[1], samples) : null;
        },
      },
      stats: { arity: 2, run: () => memoryStats(scope) },
      doctor: {
        arity: 2,
        run: (inv) => {
          const text = 'Hi Sam, I can\'t find any memory issue in your instance. I can only account for what occurs on this base.\n';
          return clientOf(inv).resp === 3 ? new RespVerbatim('txt', text) : text;
        },
      },
      'malloc-stats': { arity: 2, run: () => 'Stats not supported for the current allocator' },
      purge: { arity: 2, run: () => OK },
      help: {
        arity: 2,
        run: () => helpReply([
          'MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
          'DOCTOR', '    Return memory problems reports.',
          'MALLOC-STATS', '    Return internal statistics report from the memory allocator.',
          'PURGE', '    Attempt to purge dirty pages for reclamation by the allocator.',
          'STATS', '    Return information about the memory usage of the server.',
          'USAGE <key> [SAMPLES <count>]', '    Return memory in bytes used by <key> and its value. Nested values are',
          '    sampled up to <count> times (default: 5, 0 means sample all).',
          'HELP', '    Prints this help.',
        ]),
      },
    })),
  ];
}

/** MEMORY STATS in Redis' field names, from the process' heap figures. */
function memoryStats(scope: CommandScope): Reply {
  const mem = process.memoryUsage();
  const used = mem.heapUsed + mem.external;
  const keys = scope.context?.keyspaceInfo().reduce((n, k) => n + k.keys, 0) ?? 0;
  const clients = [...scope.env.registry.clients.values()].filter((c) => !c.internal).length;
  const entries: Array<[Reply, Reply]> = [
    ['peak.allocated', mem.rss], ['total.allocated', used], ['startup.allocated', 0], ['replication.backlog', 0],
    ['clients.slaves', 0], ['clients.normal', clients], ['cluster.links', 0], ['aof.buffer', 0], ['lua.caches', 0],
    ['functions.caches', 0], ['overhead.total', 0], ['keys.count', keys],
    ['keys.bytes-per-key', keys === 0 ? 0 : Math.floor(used / keys)], ['dataset.bytes', used],
    ['dataset.percentage', '100'], ['peak.percentage', String(((used / mem.rss) * 100).toFixed(2))],
    ['allocator.allocated', used], ['allocator.active', mem.heapTotal], ['allocator.resident', mem.rss],
    ['fragmentation', String((mem.rss / Math.max(1, used)).toFixed(2))], ['fragmentation.bytes', mem.rss - used],
  ];
  return new RespMap(entries);
}
