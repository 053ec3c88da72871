/**
 * Who may use the server: the ACL users (context/acl: the `default` user, whose password `requirepass` sets, named
 * users from `users` with a password and every permission, and those ACL SETUSER creates), Redis' protected mode
 * and its "protected action" gates (`enable-debug-command`, `enable-protected-configs`), and AUTH throttling
 * (auth-throttle.ts).
 */
import { Buffer } from 'node:buffer';
import diagnostics_channel from 'node:diagnostics_channel';
import { debuglog } from 'node:util';
import type { ServerConfig } from '../context/config.js';
import type { AclCatalog } from '../context/acl/selector.js';
import { AclStore } from '../context/acl/store.js';
import { AuthThrottle, normalizeAddress, type AuthThrottleOptions } from './auth-throttle.js';

const log = debuglog('beamgate:auth');

/** diagnostics_channel on which every failed or refused AUTH is published as an AuthFailure. */
export const AUTH_FAILURE_CHANNEL = 'beamgate:beam:auth-failure';
const failures = diagnostics_channel.channel(AUTH_FAILURE_CHANNEL);

/** Redis 7.0's reply to a non-loopback client in protected mode (networking.c, clientAcceptHandler). */
export const PROTECTED_MODE_DENIED =
  '-DENIED Redis is running in protected mode because protected '
  + 'mode is enabled and no password is set for the default user. '
  + 'In this mode connections are only accepted from the loopback interface. '
  + 'If you want to connect from external computers to Redis you '
  + 'may adopt one of the following solutions: '
  + '1) Just disable protected mode sending the command '
  + "'CONFIG SET protected-mode no' from the loopback interface "
  + 'by connecting to Redis from the same host the server is '
  + 'running, however MAKE SURE Redis is not publicly accessible '
  + 'from internet if you do so. Use CONFIG REWRITE to make this '
  + 'change permanent. '
  + '2) Alternatively you can just disable the protected mode by '
  + 'editing the Redis configuration file, and setting the protected '
  + "mode option to 'no', and then restarting the server. "
  + "3) If you started the server manually just for testing, restart "
  + "it with the '--protected-mode no' option. "
  + '4) Setup a an authentication password for the default user. '
  + 'NOTE: You only need to do one of the above things in order for '
  + 'the server to start accepting connections from the outside.\r\n';

export interface AuthFailure {
  /** Peer IP address (or `/unix`, or what the embedding application named the client). */
  address: string;
  /** The user name tried (`default` for `AUTH password`). */
  user: string;
  /** 'wrongpass', or 'locked' when refused by the throttle without a check. */
  reason: 'wrongpass' | 'locked';
  /** Lockout now in force for this address or user, in ms (0: none). */
  lockoutMs: number;
}

/**
 * Redis' islocalClient(): a unix socket, or a TCP peer whose address is exactly 127.0.0.1 or ::1. Other 127/8
 * addresses (127.0.0.2) are not local to Redis either.
 */
export function isLocalAddress(remoteAddress: string | undefined): boolean {
  if (remoteAddress === undefined || remoteAddress === '') return true;
  const a = normalizeAddress(remoteAddress);
  return a === '127.0.0.1' || a === '::1';
}

/** Whether a listen address only reaches this machine (a unix socket, 127.0.0.0/8, ::1, localhost). */
export function isLoopbackBind(host: string | undefined): boolean {
  if (host === undefined) return true;
  const h = normalizeAddress(host.replace(/^\[(.*)\]$/, '$1'));
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

export interface AuthenticatorOptions {
  /** Named users: name -> password. */
  users?: Iterable<[string, string]>;
  /** Require authentication even without any password (then nobody can log in over RESP). Default false. */
  requireAuth?: boolean;
  /** AUTH throttling; false turns it off. Default on, with DEFAULT_AUTH_THROTTLE. */
  throttle?: AuthThrottleOptions | false;
  /** Every failed or refused AUTH. */
  onFailure?: (f: AuthFailure) => void;
  /** The server's commands for ACL rules (+cmd, +@category, ACL CAT). Default: none known yet. */
  catalog?: () => AclCatalog;
}

const NO_COMMANDS: AclCatalog = { get: () => undefined, all: () => [] };

export type AuthResult = { ok: true; user: string } | { ok: false; error: 'wrongpass' | 'locked'; retryAfterMs: number };

export class Authenticator {
  /** The ACL users: `default` (requirepass is its password) and the named ones (`users`, ACL SETUSER). */
  readonly acl: AclStore;
  private readonly throttle: AuthThrottle | null;

  constructor(
    private readonly config: ServerConfig,
    private readonly opts: AuthenticatorOptions = {},
  ) {
    this.acl = new AclStore({
      catalog: opts.catalog ?? (() => NO_COMMANDS),
      allChannelsByDefault: () => config.get('acl-pubsub-default') === 'allchannels',
      logMaxLen: () => Number(config.get('acllog-max-len') ?? 128),
    });
    let named = false;
    for (const [name, password] of opts.users ?? []) {
      named = true;
      this.configuredUsers.add(Buffer.from(name).toString('latin1'));
      // User names are bytes on the wire (AUTH compares their latin1 text).
      this.acl.setUser(Buffer.from(name).toString('latin1'), ['on', `>${password}`, '~*', '&*', '+@all'].map((r) => Buffer.from(r)));
    }
    // With named users (or requireAuth) the default user is off (`off nopass`) unless requirepass gives it a password.
    this.offWithoutPassword = named || opts.requireAuth === true;
    this.setDefaultPassword(this.config.get('requirepass') ?? '');
    config.on('change', (key: string, value: string) => {
      if (key === 'requirepass') this.setDefaultPassword(value);
    });
    this.throttle = opts.throttle === false ? null : new AuthThrottle(opts.throttle ?? {});
  }

  /**
   * Replace the named users given at start (SIGHUP reload of `users`): new and changed ones get their password and
   * every permission, those no longer listed are turned off (no new AUTH); connections already authenticated stay so.
   * Users made with ACL SETUSER are left alone.
   */
  setUsers(users: Iterable<[string, string]>): void {
    const next = new Set<string>();
    for (const [name, password] of users) {
      const n = Buffer.from(name).toString('latin1');
      next.add(n);
      this.acl.setUser(n, ['on', 'resetpass', `>${password}`, '~*', '&*', '+@all'].map((r) => Buffer.from(r)));
    }
    // Like a disabled user in Redis: no new AUTH, while connections already logged in keep working.
    for (const n of this.configuredUsers) if (!next.has(n) && n !== 'default') this.acl.setUser(n, ['off', 'resetpass'].map((r) => Buffer.from(r)));
    this.configuredUsers = next;
  }

  private configuredUsers = new Set<string>();

  private readonly offWithoutPassword: boolean;

  /** ACLUpdateDefaultUserPassword: requirepass sets the default user's only password, '' makes it nopass. */
  private setDefaultPassword(pass: string): void {
    const rules = ['resetpass', pass !== '' ? `>${pass}` : 'nopass'];
    if (this.offWithoutPassword) rules.push(pass !== '' ? 'on' : 'off');
    this.acl.setUser('default', rules.map((r) => Buffer.from(r)));
  }

  /** Redis' authRequired(): the default user has no `nopass`, or is off. */
  get required(): boolean {
    const d = this.acl.defaultUser;
    return !d.nopass || !d.enabled;
  }

  /** No password protects the server: protected mode applies. */
  get passwordless(): boolean {
    return !this.required;
  }

  /** The named users that can log in now (not `default`, not turned off), ACL USERS order. */
  get userNames(): string[] {
    return this.acl.names().filter((n) => n !== 'default' && this.acl.get(n)?.enabled === true);
  }

  /** Checks a user/password pair for a client at `address` (its IP, or any stable name), throttled. */
  check(address: string, user: Buffer, pass: Buffer): AuthResult {
    const name = user.toString('latin1');
    const wait = this.throttle?.retryAfter(address, name) ?? 0;
    if (wait > 0) {
      this.report({ address, user: name, reason: 'locked', lockoutMs: wait });
      return { ok: false, error: 'locked', retryAfterMs: wait };
    }
    if (this.acl.checkCredentials(name, pass)) {
      this.throttle?.success(name);
      return { ok: true, user: name };
    }
    const lockoutMs = this.throttle?.failure(address, name) ?? 0;
    this.report({ address, user: name, reason: 'wrongpass', lockoutMs });
    return { ok: false, error: 'wrongpass', retryAfterMs: lockoutMs };
  }

  private report(f: AuthFailure): void {
    log('AUTH %s from %s refused (%s), lockout %d ms', f.user, f.address, f.reason, f.lockoutMs);
    if (failures.hasSubscribers) failures.publish(f);
    this.opts.onFailure?.(f);
  }
}
