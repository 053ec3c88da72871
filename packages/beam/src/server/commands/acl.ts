import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import type { CommandSpec } from '../../context/api.js';
import { ACL_CATEGORIES, REDIS_COMMAND_CATEGORIES } from '../../context/acl/categories.js';
import { ACL_OK, DENIED_CHANNEL, DENIED_CMD, DENIED_KEY, KEY_READ, KEY_WRITE, type AclCatalog, type AclCommand, type AclRequest } from '../../context/acl/selector.js';
import { REASON_NAMES, type AclLogContext, type AclStore } from '../../context/acl/store.js';
import type { DispatchClient, Dispatcher } from '../../context/dispatch.js';
import { ErrorReply, OK, RespDouble, RespMap, RespSet, type Reply } from '../../wire/reply.js';
import { categories, keysWithFlags } from './command.js';
import type { CommandScope } from './env.js';
import { clientOf, container, E_NOT_INT, helpReply, parseIntArg, spec, subcommandsOf } from './spec.js';

/** Where a command is being checked: from a client (queued in MULTI or not), at EXEC, from a script, or a dry check. */
export type AclWhere = 'toplevel' | 'exec' | 'lua' | 'check';

/** Commands every user may run (Redis' CMD_NO_AUTH). */
const NO_AUTH = new Set(['auth', 'hello', 'quit', 'reset']);

/** getChannelsFromCommand's table: [first channel argument, only one?, channels are patterns]. */
const CHANNEL_ARGS: Record<string, readonly [number, boolean, boolean]> = {
  subscribe: [1, false, false], ssubscribe: [1, false, false], psubscribe: [1, false, true],
  publish: [1, true, false], spublish: [1, true, false],
};

function maskOf(names: readonly string[]): number {
  let m = 0;
  for (const n of names) {
    const i = ACL_CATEGORIES.indexOf(n.replace(/^@/, '') as (typeof ACL_CATEGORIES)[number]);
    if (i >= 0) m |= 1 << i;
  }
  return m;
}

/** The dispatcher's commands as ACL rules see them (Redis' categories, Beam's own derived from their flags). */
export function aclCatalog(d: Dispatcher | undefined): AclCatalog {
  const list: AclCommand[] = [];
  const byName = new Map<string, AclCommand>();
  const specs = d ? [...d.commands()].sort((a, b) => (a.name < b.name ? -1 : 1)) : [];
  for (const s of specs) {
    const subs = subcommandsOf(s).map((x) => `${s.name}|${x}`);
    const cmd: AclCommand = { fullname: s.name, mask: maskOf(categories(s)), subs, isSub: false };
    list.push(cmd);
    byName.set(cmd.fullname, cmd);
    for (const full of subs) {
      const sub: AclCommand = { fullname: full, mask: REDIS_COMMAND_CATEGORIES.get(full) ?? cmd.mask, subs: [], isSub: true };
      list.push(sub);
      byName.set(full, sub);
    }
  }
  return { get: (n) => byName.get(n.toLowerCase()), all: () => list };
}

/** The ACL view of one command line: full name (`client|list`), key and channel arguments on demand. */
export function aclRequest(s: CommandSpec, argv: Buffer[]): AclRequest {
  let fullname = s.name;
  let isSub = false;
  if (argv.length >= 2) {
    const subs = subcommandsOf(s);
    if (subs.length > 0) {
      const sub = argv[1]!.toString('latin1').toLowerCase();
      if (subs.includes(sub)) {
        fullname = `${s.name}|${sub}`;
        isSub = true;
      }
    }
  }
  return {
    cmd: { fullname, mask: 0, subs: [], isSub },
    argv,
    noAuth: NO_AUTH.has(s.name),
    keys: () => (keysWithFlags(s, argv) ?? []).map(([k, flags]) => {
      let need = 0;
      if (flags.includes('access')) need |= KEY_READ;
      if (flags.includes('insert') || flags.includes('delete') || flags.includes('update')) need |= KEY_WRITE;
      return [argv.indexOf(k), need] as const;
    }),
    channels: () => {
      const spec = CHANNEL_ARGS[s.name];
      if (!spec) return [];
      const out: Array<readonly [number, boolean]> = [];
      for (let i = spec[0]; i < argv.length && (!spec[1] || i === spec[0]); i++) out.push([i, spec[2]]);
      return out;
    },
  };
}

/** getAclErrorMessage. */
function denial(reason: number): string {
  if (reason === DENIED_CMD) return "can't run this command or subcommand";
  if (reason === DENIED_KEY) return "can't access at least one of the keys mentioned in the command arguments";
  if (reason === DENIED_CHANNEL) return "can't publish to the channel mentioned in the command";
  return 'lacking the permissions for the command';
}

/** The reply text for a denied command, as processCommand, execCommand and scriptVerifyACL word it. */
function deniedReply(where: AclWhere, reason: number, fullname: string): ErrorReply {
  if (where === 'lua') return new ErrorReply(`ERR The user executing the script ${denial(reason)}`);
  if (where === 'exec') {
    const why = reason === DENIED_CMD ? 'no permission to execute the command or subcommand'
      : reason === DENIED_KEY ? 'no permission to touch the specified keys'
        : 'no permission to access one of the channels used as arguments';
    return new ErrorReply('NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. '
      + `This command is no longer allowed for the following reason: ${why}`);
  }
  if (reason === DENIED_CMD) return new ErrorReply(`NOPERM this user has no permissions to run the '${fullname}' command`);
  if (reason === DENIED_KEY) return new ErrorReply('NOPERM this user has no permissions to access one of the keys used as arguments');
  return new ErrorReply('NOPERM this user has no permissions to access one of the channels used as arguments');
}

/**
 * The dispatcher's permission check: null when the client's user may run the command, else the error reply (and an
 * ACL LOG entry, except for 'check'). `logAs` is the client whose CLIENT INFO the log shows (a script's caller).
 */
export function aclCheck(acl: AclStore, c: DispatchClient, s: CommandSpec, argv: Buffer[], where: AclWhere, logAs: DispatchClient = c): ErrorReply | null {
  const u = acl.get(c.user);
  if (u !== undefined && u.unrestricted) return null;
  const req = aclRequest(s, argv);
  const [reason, pos] = acl.check(c.user, req);
  if (reason === ACL_OK) return null;
  if (where !== 'check') {
    const context: AclLogContext = where === 'lua' ? 'lua' : where === 'exec' || c.multi !== null ? 'multi' : 'toplevel';
    const object = reason === DENIED_CMD ? req.cmd.fullname : argv[pos]!.toString('latin1');
    acl.addLog({ reason, context, object, username: c.user, cinfo: logAs.describe() });
  }
  return deniedReply(where, reason, req.cmd.fullname);
}

/** A failed AUTH / HELLO AUTH in the ACL LOG (reason `auth`, object the command name as sent). */
export function logAuthFailure(acl: AclStore, c: DispatchClient, user: Buffer, command: Buffer): void {
  acl.addLog({ reason: 3, context: c.multi ? 'multi' : 'toplevel', object: command.toString('latin1'), username: user.toString('latin1'), cinfo: c.describe() });
}

const E_NO_ACLFILE = new ErrorReply('ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the '
  + 'ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.');

function selectorReply(acl: AclStore, s: import('../../context/acl/selector.js').Selector): Array<[Reply, Reply]> {
  return [['commands', s.describeCommands(acl.catalog)], ['keys', s.keysText()], ['channels', s.channelsText()]];
}

/** ACL and its subcommands, as Redis 7.0's aclCommand (LOAD/SAVE: no ACL file here). */
export function aclCommands(scope: CommandScope): CommandSpec[] {
  const { env } = scope;
  const acl = (): AclStore => env.auth.acl;
  return [spec('acl', -2, ['noscript', 'loading', 'stale'], container('acl', {
    setuser: {
      arity: -3,
      run: (inv) => {
        const name = inv.argv[2]!;
        for (const b of name) if (b === 0 || b === 0x20 || (b >= 0x09 && b <= 0x0d)) return new ErrorReply("ERR Usernames can't contain spaces or null characters");
        const e = acl().setUser(name.toString('latin1'), inv.argv.slice(3));
        return e === null ? OK : new ErrorReply(`ERR ${e}`);
      },
    },
    deluser: {
      arity: -3,
      run: (inv) => {
        const names = inv.argv.slice(2).map((b) => b.toString('latin1'));
        if (names.includes('default')) return new ErrorReply("ERR The 'default' user cannot be removed");
        let n = 0;
        const self = clientOf(inv);
        for (const name of names) {
          if (!acl().deleteUser(name)) continue;
          n++;
          // ACLFreeUserAndKillClients: its connections go back to `default`, unauthenticated, and are closed.
          for (const c of env.registry.clients.values()) {
            if (c.user !== name || c.internal) continue;
            c.user = 'default';
            c.authenticated = false;
            if (c === self) c.closeAfterReply = true;
            else c.onKill?.();
          }
        }
        return n;
      },
    },
    getuser: {
      arity: 3,
      run: (inv) => {
        const u = acl().get(inv.argv[2]!.toString('latin1'));
        if (u === undefined) return null;
        return new RespMap([
          ['flags', new RespSet(u.flags())],
          ['passwords', u.passwords],
          ...selectorReply(acl(), u.root),
          ['selectors', u.selectors.slice(1).map((s) => new RespMap(selectorReply(acl(), s)))],
        ]);
      },
    },
    list: {
      arity: 2,
      run: () => acl().names().map((n) => `user ${n} ${acl().get(n)!.describe(acl().catalog)}`),
    },
    users: { arity: 2, run: () => acl().names() },
    whoami: { arity: 2, run: (inv) => clientOf(inv).user },
    load: { arity: 2, run: () => E_NO_ACLFILE },
    save: { arity: 2, run: () => E_NO_ACLFILE },
    cat: {
      arity: -2,
      run: (inv) => {
        if (inv.argv.length === 2) return [...ACL_CATEGORIES];
        if (inv.argv.length > 3) return new ErrorReply("ERR unknown subcommand or wrong number of arguments for 'cat'. Try ACL HELP.");
        const name = inv.argv[2]!.toString('latin1');
        const i = ACL_CATEGORIES.indexOf(name.toLowerCase() as (typeof ACL_CATEGORIES)[number]);
        if (i < 0) return new ErrorReply(`ERR Unknown category '${name.slice(0, 128)}'`);
        return acl().catalog.all().filter((c) => (c.mask & (1 << i)) !== 0).map((c) => c.fullname);
      },
    },
    genpass: {
      arity: -2,
      run: (inv) => {
        let bits = 256;
        if (inv.argv.length > 3) return new ErrorReply("ERR unknown subcommand or wrong number of arguments for 'genpass'. Try ACL HELP.");
        if (inv.argv.length === 3) {
          const n = parseIntArg(inv.argv[2]!);
          if (n === null) return E_NOT_INT;
          bits = n;
        }
        if (bits <= 0 || bits > 4096) return new ErrorReply('ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096');
        const chars = Math.floor((bits + 3) / 4);
        return randomBytes(Math.ceil(chars / 2)).toString('hex').slice(0, chars);
      },
    },
    log: {
      arity: -2,
      run: (inv) => {
        let count = 10;
        if (inv.argv.length > 3) return new ErrorReply("ERR unknown subcommand or wrong number of arguments for 'log'. Try ACL HELP.");
        if (inv.argv.length === 3) {
          if (inv.argv[2]!.toString('latin1').toLowerCase() === 'reset') {
            acl().log.length = 0;
            return OK;
          }
          const n = parseIntArg(inv.argv[2]!);
          if (n === null) return E_NOT_INT;
          count = Math.max(0, n);
        }
        const now = Date.now();
        return acl().log.slice(0, count).map((e) => new RespMap([
          ['count', e.count], ['reason', REASON_NAMES[e.reason] ?? 'unknown'], ['context', e.context], ['object', e.object],
          ['username', e.username], ['age-seconds', new RespDouble((now - e.ctime) / 1000)], ['client-info', e.cinfo],
        ]));
      },
    },
    dryrun: {
      arity: -4,
      run: (inv) => {
        const name = inv.argv[2]!.toString('latin1');
        const u = acl().get(name);
        if (u === undefined) return new ErrorReply(`ERR User '${name}' not found`);
        const argv = inv.argv.slice(3);
        const s = scope.dispatcher.lookup(argv[0]!);
        if (!s) return new ErrorReply(`ERR Command '${argv[0]!.toString('latin1')}' not found`);
        const req = aclRequest(s, argv);
        if (s.arity >= 0 ? s.arity !== argv.length : argv.length < -s.arity) {
          return new ErrorReply(`ERR wrong number of arguments for '${req.cmd.fullname}' command`);
        }
        const [reason, pos] = u.check(req);
        if (reason === ACL_OK) return OK;
        if (reason === DENIED_CMD) return `This user has no permissions to run the '${req.cmd.fullname}' command`;
        const what = reason === DENIED_KEY ? 'key' : 'channel';
        return `This user has no permissions to access the '${argv[pos]!.toString('latin1')}' ${what}`;
      },
    },
    help: {
      arity: 2,
      run: () => helpReply([
        'ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
        'CAT [<category>]', '    List all commands that belong to <category>, or all command categories', '    when no category is specified.',
        'DELUSER <username> [<username> ...]', '    Delete a list of users.',
        'DRYRUN <username> <command> [<arg> ...]', '    Returns whether the user can execute the given command without executing the command.',
        'GETUSER <username>', "    Get the user's details.",
        'GENPASS [<bits>]', '    Generate a secure 256-bit user password. The optional `bits` argument can',
        '    be used to specify a different size.',
        'LIST', '    Show users details in config file format.',
        'LOAD', '    Reload users from the ACL file.',
        'LOG [<count> | RESET]', '    Show the ACL log entries.',
        'SAVE', '    Save the current config to the ACL file.',
        'SETUSER <username> <attribute> [<attribute> ...]', '    Create or modify a user with the specified attributes.',
        'USERS', '    List all the registered usernames.',
        'WHOAMI', '    Return the current connection username.',
        'HELP', '    Print this help.',
      ]),
    },
  }))];
}
