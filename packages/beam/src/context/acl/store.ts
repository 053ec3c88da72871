import { Buffer } from 'node:buffer';
import { ACL_OK, DENIED_AUTH, DENIED_CHANNEL, DENIED_CMD, DENIED_KEY, type AclCatalog, type AclRequest } from './selector.js';
import { AclUser, mergeSelectorArgs } from './user.js';

/** Where a denial happened (ACL LOG `context`). */
export type AclLogContext = 'toplevel' | 'multi' | 'lua' | 'module';

export interface AclLogEntry {
  count: number;
  reason: number;
  context: AclLogContext;
  object: string;
  username: string;
  /** ms timestamp of the last occurrence. */
  ctime: number;
  /** CLIENT INFO line of the (last) client. */
  cinfo: string;
}

export const REASON_NAMES: Record<number, string> = {
  [DENIED_CMD]: 'command', [DENIED_KEY]: 'key', [DENIED_CHANNEL]: 'channel', [DENIED_AUTH]: 'auth',
};

/** Entries closer in time than this are merged with a matching one (ACL_LOG_GROUPING_MAX_TIME_DELTA). */
const LOG_GROUPING_MS = 60000;

export interface AclStoreOptions {
  /** The server's commands now (they may grow as packages register theirs). */
  catalog: () => AclCatalog;
  /** `acl-pubsub-default` is `allchannels`: new users and `reset` get &*. */
  allChannelsByDefault: () => boolean;
  /** `acllog-max-len`. */
  logMaxLen: () => number;
}

/**
 * The server's ACL users (Redis' `Users` rax, with the `default` user) and the ACL LOG. Users are changed only through
 * setUser(), which validates every rule on a copy first and applies all or nothing, as ACL SETUSER does.
 */
export class AclStore {
  private readonly users = new Map<string, AclUser>();
  readonly log: AclLogEntry[] = [];

  constructor(private readonly opts: AclStoreOptions) {
    const d = new AclUser('default', true);
    const cat = opts.catalog();
    for (const op of ['+@all', '~*', '&*', 'on', 'nopass']) d.apply(Buffer.from(op), cat, true);
    this.users.set('default', d);
  }

  get catalog(): AclCatalog {
    return this.opts.catalog();
  }

  get defaultUser(): AclUser {
    return this.users.get('default')!;
  }

  get(name: string): AclUser | undefined {
    return this.users.get(name);
  }

  /** User names in Redis' order (rax: byte order). */
  names(): string[] {
    return [...this.users.keys()].sort((a, b) => Buffer.compare(Buffer.from(a, 'latin1'), Buffer.from(b, 'latin1')));
  }

  /** ACLStringSetUser: creates or changes a user; the error text (without `ERR `) or null. */
  setUser(name: string, ops: Buffer[]): string | null {
    const merged = mergeSelectorArgs(ops);
    if ('unmatched' in merged) return `Unmatched parenthesis in acl selector starting at '${merged.unmatched.toString('latin1')}'.`;
    const existing = this.users.get(name);
    const allChannels = this.opts.allChannelsByDefault();
    const temp = existing ? existing.clone() : new AclUser(name, allChannels);
    const cat = this.catalog;
    for (const op of merged.ops) {
      const e = temp.apply(op, cat, allChannels);
      if (e !== null) return `Error in ACL SETUSER modifier '${op.toString('latin1')}': ${e}`;
    }
    this.users.set(name, temp);
    return null;
  }

  /** Removes a user (never `default`); true when it existed. The caller disconnects its clients. */
  deleteUser(name: string): boolean {
    if (name === 'default') return false;
    return this.users.delete(name);
  }

  /** ACLCheckUserCredentials: the user exists, is on, and the password matches (or it is nopass). */
  checkCredentials(name: string, pass: Buffer): boolean {
    const u = this.users.get(name);
    return u !== undefined && u.enabled && u.checkPassword(pass);
  }

  /** ACLCheckAllUserCommandPerm for a user by name; a deleted user may do nothing. */
  check(name: string, req: AclRequest): [number, number] {
    const u = this.users.get(name);
    if (u === undefined) return [DENIED_CMD, 0];
    if (u.unrestricted) return [ACL_OK, 0];
    return u.check(req);
  }

  /** addACLLogEntry: merges with a similar recent entry among the newest 10, else adds one; trims to acllog-max-len. */
  addLog(e: Omit<AclLogEntry, 'count' | 'ctime'>): void {
    const now = Date.now();
    for (let i = 0; i < Math.min(10, this.log.length); i++) {
      const x = this.log[i]!;
      if (x.reason === e.reason && x.context === e.context && Math.abs(x.ctime - now) <= LOG_GROUPING_MS
        && x.object === e.object && x.username === e.username) {
        this.log.splice(i, 1);
        x.count++;
        x.ctime = now;
        x.cinfo = e.cinfo;
        this.log.unshift(x);
        return;
      }
    }
    this.log.unshift({ ...e, count: 1, ctime: now });
    const max = this.opts.logMaxLen();
    if (this.log.length > max) this.log.length = max;
  }
}
