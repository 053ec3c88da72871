import type { CommandSpec } from '../../context/api.js';
import { COMMAND_TABLE } from '../../context/command-table.js';
import { ACL_CATEGORIES, REDIS_COMMAND_CATEGORIES } from '../../context/acl/categories.js';
import { globMatch } from '../../context/glob.js';
import { ErrorReply, RespMap, RespSet, SimpleString, type Reply } from '../../wire/reply.js';
import { KEY_SPEC_FLAGS } from './key-specs.js';
import type { CommandScope } from './env.js';
import { container, E_SYNTAX, helpReply, spec, subcommandsOf } from './spec.js';

const DATA_CATEGORIES = new Map<string, readonly string[]>(COMMAND_TABLE.map((m) => [m[0], m[6]]));

const CONNECTION_GROUP: Record<string, string> = {
  hello: 'connection', auth: 'connection', select: 'connection', ping: 'connection', echo: 'connection',
  quit: 'connection', reset: 'connection', client: 'connection', time: 'server', info: 'server', config: 'server',
  command: 'server', function: 'scripting', subscribe: 'pubsub', psubscribe: 'pubsub', unsubscribe: 'pubsub',
  punsubscribe: 'pubsub', publish: 'pubsub', pubsub: 'pubsub', multi: 'transactions', exec: 'transactions',
  discard: 'transactions', watch: 'transactions', unwatch: 'transactions',
};

/** Subcommand names per container command of Redis 7.0.15 (from the ACL table's `parent|sub` names). */
const REDIS_SUBCOMMANDS = new Map<string, string[]>();
for (const name of REDIS_COMMAND_CATEGORIES.keys()) {
  const bar = name.indexOf('|');
  if (bar < 0) continue;
  const parent = name.slice(0, bar);
  const list = REDIS_SUBCOMMANDS.get(parent);
  if (list) list.push(name.slice(bar + 1));
  else REDIS_SUBCOMMANDS.set(parent, [name.slice(bar + 1)]);
}

/** Redis' ACL categories of a command or `parent|sub` name, when Redis 7.0.15 has it. */
function knownCategories(name: string): string[] | undefined {
  const mask = REDIS_COMMAND_CATEGORIES.get(name);
  if (mask === undefined) return undefined;
  return ACL_CATEGORIES.filter((_, i) => (mask & (1 << i)) !== 0).map((c) => `@${c}`);
}

/**
 * The subcommands COMMAND LIST shows for a command: its own container's, or Redis' for commands that parse their
 * subcommands themselves (COMMAND, XINFO, XGROUP). A command Redis has without subcommands (DEBUG) lists none.
 */
function listedSubcommands(s: CommandSpec): string[] {
  const own = subcommandsOf(s);
  const redis = REDIS_SUBCOMMANDS.get(s.name);
  if (own.length === 0) return redis ?? [];
  return redis === undefined && REDIS_COMMAND_CATEGORIES.has(s.name) ? [] : own;
}

/** ACL categories: from Redis' tables, derived from flags for Beam's own commands. */
export function categories(s: CommandSpec): string[] {
  const redis = knownCategories(s.name);
  if (redis) return redis;
  const known = DATA_CATEGORIES.get(s.name);
  if (known) return [...known];
  const out: string[] = [];
  if (s.flags.includes('write')) out.push('@write');
  if (s.flags.includes('readonly')) out.push('@read');
  if (s.flags.includes('admin')) out.push('@admin', '@dangerous');
  if (s.flags.includes('pubsub')) out.push('@pubsub');
  const g = CONNECTION_GROUP[s.name];
  if (g === 'connection') out.push('@connection');
  if (g === 'transactions') out.push('@transaction');
  out.push(s.flags.includes('fast') ? '@fast' : '@slow');
  if (s.flags.includes('blocking')) out.push('@blocking');
  return out;
}

function group(s: CommandSpec): string {
  const g = CONNECTION_GROUP[s.name];
  if (g) return g;
  const cats = DATA_CATEGORIES.get(s.name) ?? [];
  for (const c of ['string', 'list', 'hash', 'set', 'sortedset', 'stream']) if (cats.includes(`@${c}`)) return c === 'sortedset' ? 'sorted-set' : c;
  if (cats.includes('@keyspace')) return 'generic';
  return s.flags.includes('admin') ? 'server' : 'generic';
}

/** Commands whose keys follow a numkeys argument: [index of numkeys, keys before it (destination)]. */
const NUMKEYS: Record<string, [number, number]> = {
  lmpop: [1, 0], blmpop: [2, 0], sintercard: [1, 0], zmpop: [1, 0], bzmpop: [2, 0], zunion: [1, 0], zinter: [1, 0],
  zdiff: [1, 0], zintercard: [1, 0], zunionstore: [2, 1], zinterstore: [2, 1], zdiffstore: [2, 1],
  eval: [2, 0], evalsha: [2, 0], eval_ro: [2, 0], evalsha_ro: [2, 0], fcall: [2, 0], fcall_ro: [2, 0],
};

/** SORT's keys: the sorted key and the last STORE destination (sortGetKeys). */
function sortKeys(argv: Buffer[]): Buffer[] {
  let store: Buffer | null = null;
  const skip: Record<string, number> = { limit: 2, get: 1, by: 1 };
  for (let i = 2; i < argv.length; i++) {
    const a = argv[i]!.toString('latin1').toLowerCase();
    if (skip[a] !== undefined) i += skip[a];
    else if (a === 'store' && i + 1 < argv.length) store = argv[++i]!;
  }
  return store ? [argv[1]!, store] : [argv[1]!];
}

/** Subcommands whose key is argv[2], with their Redis 7.0 key-spec flags (src/commands/*.json). */
const SUBCOMMAND_KEY_FLAGS: Record<string, string[]> = {
  'memory|usage': ['RO'], 'object|encoding': ['RO'], 'object|freq': ['RO'], 'object|idletime': ['RO'],
  'object|refcount': ['RO'], 'xinfo|stream': ['RO', 'access'], 'xinfo|groups': ['RO', 'access'],
  'xinfo|consumers': ['RO', 'access'], 'xgroup|create': ['RW', 'insert'], 'xgroup|setid': ['RW', 'update'],
  'xgroup|destroy': ['RW', 'delete'], 'xgroup|createconsumer': ['RW', 'insert'], 'xgroup|delconsumer': ['RW', 'delete'],
};

function subcommandKeyFlags(s: CommandSpec, argv: Buffer[]): string[] | undefined {
  return argv.length >= 3 ? SUBCOMMAND_KEY_FLAGS[`${s.name}|${argv[1]!.toString('latin1').toLowerCase()}`] : undefined;
}

/** The key arguments of a command line (COMMAND GETKEYS); null when numkeys is not a valid count. */
export function keyArgs(s: CommandSpec, argv: Buffer[]): Buffer[] | null {
  if (s.name === 'sort') return sortKeys(argv);
  if (subcommandKeyFlags(s, argv)) return [argv[2]!];
  const nk = NUMKEYS[s.name];
  if (nk) {
    const n = Number(argv[nk[0]]!.toString());
    if (!Number.isInteger(n) || n < 0 || nk[0] + n >= argv.length) return null;
    // numkeys 0 is valid only where keys are optional (EVAL, FCALL: Redis' NO_MANDATORY_KEYS).
    if (n === 0) return s.flags.includes('no_mandatory_keys') ? [] : null;
    return [...argv.slice(1, 1 + nk[1]), ...argv.slice(nk[0] + 1, nk[0] + 1 + n)];
  }
  if (s.firstKey <= 0) return [];
  const last = s.lastKey < 0 ? argv.length + s.lastKey : s.lastKey;
  const out: Buffer[] = [];
  for (let i = s.firstKey; i <= last && i < argv.length; i += Math.max(1, s.step)) out.push(argv[i]!);
  return out;
}

/** The key arguments of a command line with their Redis 7.0 key-spec flags (GETKEYSANDFLAGS, ACL key checks). */
export function keysWithFlags(s: CommandSpec, argv: Buffer[]): Array<[Buffer, readonly string[]]> | null {
  const keys = keyArgs(s, argv);
  if (keys === null) return null;
  const sub = subcommandKeyFlags(s, argv);
  if (sub) return keys.map((k) => [k, sub]);
  const specs = KEY_SPEC_FLAGS[s.name] ?? [];
  const withGet = s.name === 'set' && argv.slice(3).some((a) => a.toString().toLowerCase() === 'get');
  // Key i takes the i-th key spec, later keys the last one (MSET's keys share one spec; LMOVE, SORT ... STORE
  // and *STORE destinations have one each). SET without GET only overwrites, as Redis' setGetKeys reports.
  return keys.map((k, i) => {
    // SORT's second spec is its BY/GET patterns; a second key is always the STORE destination (the last spec).
    let flags = (s.name === 'sort' && i > 0 ? specs[specs.length - 1] : specs[Math.min(i, specs.length - 1)]) ?? [];
    if (s.name === 'set' && !withGet) flags = ['OW', 'update'];
    return [k, flags];
  });
}

const E_NO_KEY_ARGS = new ErrorReply('ERR The command has no key arguments');

/** One COMMAND INFO entry, in Redis 7.0's 10-element layout. */
export function commandInfo(s: CommandSpec): Reply {
  return [
    s.name,
    s.arity,
    new RespSet(s.flags.map((f) => new SimpleString(f.replace(/-/g, '_')))),
    s.firstKey,
    s.lastKey,
    s.step,
    new RespSet(categories(s).map((c) => new SimpleString(c))),
    new RespSet([]),
    new RespSet([]),
    [],
  ];
}

/** A minimal but well-formed COMMAND DOCS entry (summary, since, group, complexity). */
function commandDoc(s: CommandSpec): RespMap {
  return new RespMap([
    ['summary', `The ${s.name.toUpperCase()} command`],
    ['since', '1.0.0'],
    ['group', group(s)],
    ['complexity', 'O(1)'],
  ]);
}

export function commandCommands(scope: CommandScope): CommandSpec[] {
  const d = scope.dispatcher;
  /** COMMAND GETKEYS' lookup: the command and its key arguments, an error, or undefined when it has no keys. */
  const commandKeys = (argv: Buffer[]): [CommandSpec, Buffer[]] | ErrorReply | undefined => {
    const s = d.lookup(argv[0]!);
    if (!s) return new ErrorReply('ERR Invalid command specified');
    if (s.arity >= 0 ? argv.length !== s.arity : argv.length < -s.arity) {
      return new ErrorReply('ERR Invalid number of arguments specified for command');
    }
    const keys = keyArgs(s, argv);
    if (keys === null) return new ErrorReply('ERR Invalid arguments specified for command');
    return keys.length > 0 || s.flags.includes('no_mandatory_keys') ? [s, keys] : undefined;
  };
  const all = (): CommandSpec[] => [...d.commands()];
  const handler = container('command', {
    count: { arity: 2, run: () => all().length },
    info: {
      arity: -2,
      run: (inv) => (inv.argv.length === 2 ? all() : inv.argv.slice(2).map((n) => d.lookup(n) ?? null))
        .map((s) => (s ? commandInfo(s) : null)),
    },
    docs: {
      arity: -2,
      run: (inv) => {
        const specs = inv.argv.length === 2 ? all() : inv.argv.slice(2).map((n) => d.lookup(n)).filter((s) => s !== undefined);
        return new RespMap(specs.map((s) => [s.name, commandDoc(s)]));
      },
    },
    list: {
      arity: -2,
      run: (inv) => {
        // Every command and, after a container, its subcommands as `parent|sub` (Redis 7.0).
        const a = inv.argv;
        const names = (s: CommandSpec): string[] => [s.name, ...listedSubcommands(s).map((x) => `${s.name}|${x}`)];
        if (a.length === 2) return all().flatMap(names);
        if (a.length !== 5 || a[2]!.toString().toLowerCase() !== 'filterby') return E_SYNTAX;
        const kind = a[3]!.toString().toLowerCase();
        const arg = a[4]!.toString();
        if (kind === 'module') return [];
        if (kind === 'aclcat') {
          const cat = `@${arg.toLowerCase()}`;
          // Each command and subcommand by its own categories (a subcommand Redis lacks takes its parent's).
          return all().flatMap((s) => {
            const own = categories(s);
            return names(s).filter((n) => (n === s.name ? own : knownCategories(n) ?? own).includes(cat));
          });
        }
        if (kind === 'pattern') {
          const pat = Buffer.from(arg);
          return all().flatMap(names).filter((n) => globMatch(pat, Buffer.from(n), true));
        }
        return E_SYNTAX;
      },
    },
    getkeys: {
      arity: -3,
      run: (inv) => {
        const r = commandKeys(inv.argv.slice(2));
        return r === undefined ? E_NO_KEY_ARGS : r instanceof ErrorReply ? r : r[1];
      },
    },
    getkeysandflags: {
      arity: -3,
      run: (inv) => {
        const r = commandKeys(inv.argv.slice(2));
        if (r === undefined) return E_NO_KEY_ARGS;
        if (r instanceof ErrorReply) return r;
        const [s] = r;
        return (keysWithFlags(s, inv.argv.slice(2)) ?? []).map(([k, flags]) => [k, new RespSet(flags.map((f) => new SimpleString(f)))]);
      },
    },
    help: {
      arity: 2,
      run: () => helpReply([
        'COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
        '(no subcommand)', '    Return details about all Redis commands.',
        'COUNT', '    Return the total number of commands in this Redis server.',
        'INFO [<command-name> ...]', '    Return details about multiple Redis commands.',
        'GETKEYS <full-command>', '    Return the keys from a full Redis command.',
        'LIST [FILTERBY (MODULE <module-name>|ACLCAT <category>|PATTERN <pattern>)]', '    Return a list of all commands in this Redis server.',
        'DOCS [<command-name> ...]', '    Return documentation details about multiple Redis commands.',
        'HELP', '    Print this help.',
      ]),
    },
  });
  return [
    spec('command', -1, ['loading', 'stale'], (inv) => (inv.argv.length === 1 ? all().map(commandInfo) : handler(inv))),
    spec('function', -2, ['noscript'], container('function', {
      flush: { arity: -2, run: () => new SimpleString('OK') },
      list: { arity: -2, run: () => [] },
      stats: { arity: 2, run: () => new RespMap([['running_script', null], ['engines', new RespMap([])]]) },
      help: { arity: 2, run: () => helpReply(['FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:', 'FLUSH [ASYNC|SYNC]', '    Deletes all the libraries.']) },
    })),
  ];
}
