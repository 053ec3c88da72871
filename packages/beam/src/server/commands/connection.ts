import type { CommandSpec } from '../../context/api.js';
import { type DispatchClient, REPLY_OFF, REPLY_SKIP, REPLY_SKIP_NEXT } from '../../context/dispatch.js';
import { ErrorReply, MultiReply, OK, PONG, RespMap, SimpleString, type Reply } from '../../wire/reply.js';
import type { CommandScope } from './env.js';
import { clientOf, container, E_NOT_INT, E_SYNTAX, helpReply, parseIntArg, spec } from './spec.js';
import { resetSubscriptions } from './pubsub.js';
import { trackingFor } from '../tracking/tracking.js';
import { trackingSubcommands } from '../tracking/commands.js';
import { logAuthFailure } from './acl.js';

/** Writes nothing (CLIENT REPLY SKIP has no reply of its own). */
const NO_REPLY = new MultiReply([]);
const E_WRONGPASS = new ErrorReply('WRONGPASS invalid username-password pair or user is disabled.');
const E_BADNAME = new ErrorReply('ERR Client names cannot contain spaces, newlines or special characters.');

/** The client's IP address (what AUTH throttling counts per), from its `addr` (`IP:PORT`, `/unix`, a name). */
function peerAddress(c: DispatchClient): string {
  const colon = c.addr.lastIndexOf(':');
  return colon > 0 && /^[0-9]+$/.test(c.addr.slice(colon + 1)) ? c.addr.slice(0, colon).replace(/^\[(.*)\]$/, '$1') : c.addr;
}

/** Authenticates the client as `user`; an error reply (WRONGPASS, or the throttle's refusal) otherwise. */
function authenticate(scope: CommandScope, c: DispatchClient, user: Buffer, pass: Buffer, command: Buffer): ErrorReply | null {
  const r = scope.env.auth.check(peerAddress(c), user, pass);
  if (r.ok) {
    c.authenticated = true;
    c.user = r.user;
    return null;
  }
  logAuthFailure(scope.env.auth.acl, c, user, command);
  if (r.error === 'locked') {
    return new ErrorReply(`ERR too many failed authentication attempts from this address or for this user; retry in ${Math.ceil(r.retryAfterMs / 1000)} s`);
  }
  return E_WRONGPASS;
}

/** Sets the client name; returns an error reply for names Redis refuses. Empty removes the name. */
export function setClientName(c: DispatchClient, name: Buffer): ErrorReply | null {
  for (const b of name) if (b < 0x21 || b > 0x7e) return E_BADNAME;
  c.name = name.length === 0 ? null : name.toString('latin1');
  return null;
}

export function helloMap(scope: CommandScope, c: DispatchClient): RespMap {
  return new RespMap([
    ['server', scope.env.serverName],
    ['version', scope.env.version],
    ['proto', c.resp],
    ['id', c.id],
    ['mode', 'standalone'],
    ['role', 'master'],
    ['modules', []],
  ]);
}

export function connectionCommands(scope: CommandScope): CommandSpec[] {
  const { env, dispatcher } = scope;
  return [
    spec('hello', -1, ['noscript', 'loading', 'stale', 'fast', 'no_auth'], (inv) => {
      const c = clientOf(inv);
      const a = inv.argv;
      let ver = 0;
      let j = 1;
      if (a.length >= 2) {
        const v = parseIntArg(a[1]!);
        if (v === null) return new ErrorReply('ERR Protocol version is not an integer or out of range');
        if (v < 2 || v > 3) return new ErrorReply('NOPROTO unsupported protocol version');
        ver = v;
        j = 2;
      }
      let user: Buffer | null = null;
      let pass: Buffer | null = null;
      let name: Buffer | null = null;
      for (; j < a.length; j++) {
        const opt = a[j]!.toString('latin1');
        const more = a.length - 1 - j;
        if (opt.toLowerCase() === 'auth' && more >= 2) {
          user = a[j + 1]!;
          pass = a[j + 2]!;
          j += 2;
        } else if (opt.toLowerCase() === 'setname' && more >= 1) {
          name = a[j + 1]!;
          j++;
        } else {
          return new ErrorReply(`ERR Syntax error in HELLO option '${opt}'`);
        }
      }
      if (user && pass) {
        const e = authenticate(scope, c, user, pass, a[0]!);
        if (e) return e;
      }
      if (!c.authenticated) {
        if (dispatcher.authRequired) {
          return new ErrorReply('NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time');
        }
        c.authenticated = true;
      }
      if (name) {
        const e = setClientName(c, name);
        if (e) return e;
      }
      if (ver) c.resp = ver as 2 | 3;
      return helloMap(scope, c);
    }),

    spec('auth', -2, ['noscript', 'loading', 'stale', 'fast', 'no_auth'], (inv) => {
      const c = clientOf(inv);
      const a = inv.argv;
      if (a.length > 3) return E_SYNTAX;
      if (a.length === 2) {
        if (env.auth.acl.defaultUser.nopass) {
          return new ErrorReply('ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?');
        }
        return authenticate(scope, c, Buffer.from('default'), a[1]!, a[0]!) ?? OK;
      }
      return authenticate(scope, c, a[1]!, a[2]!, a[0]!) ?? OK;
    }),

    spec('select', 2, ['loading', 'stale', 'fast'], (inv) => {
      const c = clientOf(inv);
      const n = parseIntArg(inv.argv[1]!);
      if (n === null || n > 2147483647 || n < -2147483648) return E_NOT_INT;
      if (n < 0 || n >= env.databases) return new ErrorReply('ERR DB index is out of range');
      c.db = n;
      return OK;
    }),

    spec('ping', -1, ['fast'], (inv) => {
      const c = clientOf(inv);
      if (inv.argv.length > 2) return new ErrorReply("ERR wrong number of arguments for 'ping' command");
      if (c.resp === 2 && c.subscriptionCount > 0) return ['pong', inv.argv[1] ?? Buffer.alloc(0)];
      return inv.argv.length === 2 ? inv.argv[1]! : PONG;
    }),

    spec('echo', 2, ['fast'], (inv) => inv.argv[1]!),

    spec('quit', -1, ['noscript', 'loading', 'stale', 'fast', 'no_auth'], (inv) => {
      clientOf(inv).closeAfterReply = true;
      return OK;
    }),

    spec('reset', 1, ['noscript', 'loading', 'stale', 'fast', 'no_auth'], (inv) => {
      const c = clientOf(inv);
      c.multi = null;
      c.multiDirty = false;
      dispatcher.unwatchAll(c);
      resetSubscriptions(scope, c);
      env.monitors.remove(c);
      trackingFor(dispatcher).disable(c);
      c.db = 0;
      c.resp = 2;
      c.name = null;
      c.replyFlags = 0;
      c.authenticated = !dispatcher.authRequired;
      c.user = 'default';
      return new SimpleString('RESET');
    }),

    spec('time', 1, ['loading', 'stale', 'fast'], () => {
      const us = BigInt(Date.now()) * 1000n + BigInt(Math.floor(Number(process.hrtime.bigint() % 1000n)));
      return [String(us / 1000000n), String(us % 1000000n)];
    }),

    spec('client', -2, ['noscript', 'loading', 'stale'], container('client', {
      id: { arity: 2, run: (inv) => clientOf(inv).id },
      getname: { arity: 2, run: (inv) => clientOf(inv).name },
      setname: {
        arity: 3,
        run: (inv) => setClientName(clientOf(inv), inv.argv[2]!) ?? OK,
      },
      setinfo: {
        arity: 4,
        run: (inv) => {
          const c = clientOf(inv);
          const attr = inv.argv[2]!.toString('latin1');
          const val = inv.argv[3]!;
          for (const b of val) if (b < 0x21 || b > 0x7e) return new ErrorReply(`ERR ${attr} cannot contain spaces, newlines or special characters.`);
          if (attr.toLowerCase() === 'lib-name') c.libName = val.toString('latin1');
          else if (attr.toLowerCase() === 'lib-ver') c.libVer = val.toString('latin1');
          else return new ErrorReply(`ERR Unrecognized option '${attr}'`);
          return OK;
        },
      },
      info: { arity: 2, run: (inv) => `${clientOf(inv).describe(inv.argv)}\n` },
      list: {
        arity: -2,
        run: (inv) => {
          let clients = [...env.registry.clients.values()].filter((c) => !c.internal);
          const a = inv.argv;
          if (a.length > 2) {
            const opt = a[2]!.toString().toLowerCase();
            if (opt === 'type' && a.length === 4) {
              const t = a[3]!.toString().toLowerCase();
              if (!['normal', 'pubsub', 'master', 'replica', 'slave'].includes(t)) return new ErrorReply(`ERR Unknown client type '${a[3]!.toString()}'`);
              clients = clients.filter((c) => (t === 'pubsub' ? c.subscriptionCount > 0 : t === 'normal' ? c.subscriptionCount === 0 : false));
            } else if (opt === 'id' && a.length >= 4) {
              const ids = new Set<number>();
              for (const x of a.slice(3)) {
                const n = parseIntArg(x);
                if (n === null || n <= 0) return new ErrorReply('ERR Invalid client ID');
                ids.add(n);
              }
              clients = clients.filter((c) => ids.has(c.id));
            } else {
              return E_SYNTAX;
            }
          }
          return clients.map((c) => `${c.describe(c === clientOf(inv) ? inv.argv : undefined)}\n`).join('');
        },
      },
      kill: {
        arity: -3,
        run: (inv) => {
          const a = inv.argv;
          const self = clientOf(inv);
          const all = [...env.registry.clients.values()].filter((c) => !c.internal);
          if (a.length === 3) {
            const addr = a[2]!.toString();
            const target = all.find((c) => c.addr === addr);
            if (!target) return new ErrorReply('ERR No such client');
            kill(target, self);
            return OK;
          }
          if ((a.length - 2) % 2 !== 0) return E_SYNTAX;
          let victims = all;
          let skipme = true;
          for (let i = 2; i < a.length; i += 2) {
            const k = a[i]!.toString().toLowerCase();
            const v = a[i + 1]!.toString();
            if (k === 'id') {
              const n = parseIntArg(a[i + 1]!);
              if (n === null || n <= 0) return new ErrorReply('ERR client-id should be greater than 0');
              victims = victims.filter((c) => c.id === n);
            } else if (k === 'addr') victims = victims.filter((c) => c.addr === v);
            else if (k === 'laddr') victims = victims.filter((c) => c.laddr === v);
            else if (k === 'user') {
              if (env.auth.acl.get(v) === undefined) return new ErrorReply(`ERR No such user '${v}'`);
              victims = victims.filter((c) => c.user === v);
            }
            else if (k === 'type') {
              const t = v.toLowerCase();
              if (!['normal', 'pubsub', 'master', 'replica', 'slave'].includes(t)) return new ErrorReply(`ERR Unknown client type '${v}'`);
              victims = victims.filter((c) => (t === 'pubsub' ? c.subscriptionCount > 0 : t === 'normal' ? c.subscriptionCount === 0 : false));
            } else if (k === 'skipme') {
              if (v.toLowerCase() === 'yes') skipme = true;
              else if (v.toLowerCase() === 'no') skipme = false;
              else return E_SYNTAX;
            } else return E_SYNTAX;
          }
          let n = 0;
          for (const c of victims) {
            if (skipme && c === self) continue;
            kill(c, self);
            n++;
          }
          return n;
        },
      },
      unblock: {
        arity: -3,
        run: (inv) => {
          const a = inv.argv;
          const id = parseIntArg(a[2]!);
          if (id === null) return E_NOT_INT;
          let error = false;
          if (a.length === 4) {
            const how = a[3]!.toString().toLowerCase();
            if (how === 'error') error = true;
            else if (how !== 'timeout') return new ErrorReply('ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR');
          } else if (a.length > 4) return E_SYNTAX;
          const target = env.registry.clients.get(id);
          if (target === undefined || !target.unblock) return 0;
          target.unblock(error);
          return 1;
        },
      },
      ...trackingSubcommands(dispatcher),
      'no-evict': { arity: 3, run: (inv) => onOff(inv.argv[2]!) },
      'no-touch': { arity: 3, run: (inv) => onOff(inv.argv[2]!) },
      reply: {
        arity: 3,
        run: (inv) => {
          // The connection drops replies while REPLY_OFF or REPLY_SKIP is set (subscribe confirmations and
          // pushes still go out); SKIP itself sends nothing, and its flag covers the next command only.
          const c = clientOf(inv);
          const v = inv.argv[2]!.toString().toLowerCase();
          if (v === 'on') {
            c.replyFlags &= ~(REPLY_OFF | REPLY_SKIP);
            return OK;
          }
          if (v === 'off') {
            c.replyFlags |= REPLY_OFF;
            return OK;
          }
          if (v === 'skip') {
            if ((c.replyFlags & REPLY_OFF) === 0) c.replyFlags |= REPLY_SKIP_NEXT;
            return c.inExec ? OK : NO_REPLY; // EXEC's array needs one reply per command
          }
          return E_SYNTAX;
        },
      },
      help: {
        arity: 2,
        run: () => helpReply([
          'CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:',
          'GETNAME', '    Return the name of the current connection.',
          'ID', '    Return the ID of the current connection.',
          'INFO', '    Return information about the current client connection.',
          'KILL <ip:port> | <option> <value> [<option> <value> [...]]', '    Kill connections.',
          'LIST [TYPE (NORMAL|MASTER|REPLICA|PUBSUB)] [ID <id> [<id>...]]', '    Return information about client connections.',
          'SETINFO <LIB-NAME|LIB-VER> <value>', '    Set client library name or version.',
          'SETNAME <name>', '    Assign the name <name> to the current connection.',
          'TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]] [OPTIN] [OPTOUT] [NOLOOP]',
          '    Control server assisted client side caching.',
          'CACHING (YES|NO)', '    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.',
          'GETREDIR', '    Return the client ID we are redirecting to when tracking is enabled.',
          'TRACKINGINFO', '    Report tracking status for the current connection.',
          'HELP', '    Print this help.',
        ]),
      },
    })),
  ];
}

function onOff(b: Buffer): Reply {
  const v = b.toString().toLowerCase();
  return v === 'on' || v === 'off' ? OK : E_SYNTAX;
}

/** Closes another client's connection (after the current reply when it is the caller). */
function kill(target: DispatchClient, self: DispatchClient): void {
  if (target === self) target.closeAfterReply = true;
  else target.onKill?.();
}

