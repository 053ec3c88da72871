import { Buffer } from 'node:buffer';
import { globMatch } from '../glob.js';
import { ACL_CATEGORIES } from './categories.js';

/** Key pattern permissions (`%R~`, `%W~`, `~` = both). */
export const KEY_READ = 1;
export const KEY_WRITE = 2;
export const KEY_ALL = 3;

/** ACL check outcomes, in Redis' order of relevance (ACL_DENIED_*). */
export const ACL_OK = 0;
export const DENIED_CMD = 1;
export const DENIED_KEY = 2;
export const DENIED_AUTH = 3;
export const DENIED_CHANNEL = 4;

/** One command or subcommand as ACL rules see it. */
export interface AclCommand {
  /** `get`, or `client|list` for a subcommand. */
  readonly fullname: string;
  /** Category bits (ACL_CATEGORIES order). */
  readonly mask: number;
  /** Full names of its subcommands (containers only). */
  readonly subs: readonly string[];
  readonly isSub: boolean;
}

/** The server's commands: lookup by full name and iteration (parents, each followed by its subcommands). */
export interface AclCatalog {
  get(fullname: string): AclCommand | undefined;
  all(): readonly AclCommand[];
}

/** What a check needs to know about one command line; keys and channels are computed only when a rule needs them. */
export interface AclRequest {
  readonly cmd: AclCommand;
  readonly argv: Buffer[];
  /** AUTH, HELLO, QUIT, RESET: allowed whatever the command rules say. */
  readonly noAuth: boolean;
  /** [argv index, KEY_READ|KEY_WRITE needed] per key argument. */
  keys(): ReadonlyArray<readonly [number, number]>;
  /** [argv index, isPattern] per channel a PUBLISH/SUBSCRIBE-like command publishes or subscribes to. */
  channels(): ReadonlyArray<readonly [number, boolean]>;
}

export interface KeyPattern {
  pattern: Buffer;
  flags: number;
}

/** Messages of ACLSetUserStringError (errno of ACLSetSelector / ACLSetUser). */
export const E_UNKNOWN = 'Unknown command or category name in ACL';
export const E_SYNTAX = 'Syntax error';
const E_KEYS_AFTER_ALL = "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns";
const E_CHANNELS_AFTER_ALL = "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels";
const E_FIRSTARG_OF_SUB = 'Allowing first-arg of a subcommand is not supported';

function hasSpaces(b: Buffer): boolean {
  for (const c of b) if (c === 0 || c === 0x20 || (c >= 0x09 && c <= 0x0d)) return true;
  return false;
}

function categoryBit(name: string): number {
  const i = ACL_CATEGORIES.indexOf(name.toLowerCase() as (typeof ACL_CATEGORIES)[number]);
  return i < 0 ? 0 : 1 << i;
}

/**
 * An ACL selector (Redis 7.0's aclSelector): which commands, keys and channels it allows. Command permission is
 * `base` (the "future commands" bit that +@all sets) flipped for the names in `except`, so commands registered
 * later follow +@all / -@all as in Redis.
 */
export class Selector {
  base = false;
  readonly except = new Set<string>();
  /** +cmd|firstarg for commands without subcommands: allowed first arguments of an otherwise denied command. */
  readonly firstArgs = new Map<string, string[]>();
  allKeys = false;
  keys: KeyPattern[] = [];
  allChannels: boolean;
  channels: Buffer[] = [];

  constructor(readonly root: boolean, allChannels: boolean) {
    this.allChannels = allChannels;
  }

  clone(): Selector {
    const s = new Selector(this.root, this.allChannels);
    s.base = this.base;
    for (const n of this.except) s.except.add(n);
    for (const [k, v] of this.firstArgs) s.firstArgs.set(k, [...v]);
    s.allKeys = this.allKeys;
    s.keys = this.keys.map((k) => ({ ...k }));
    s.channels = [...this.channels];
    return s;
  }

  allows(fullname: string): boolean {
    return this.base !== this.except.has(fullname);
  }

  private setBit(fullname: string, allow: boolean): void {
    if (allow === this.base) this.except.delete(fullname);
    else this.except.add(fullname);
  }

  /** ACLChangeSelectorPerm: the command, its first-args and all its subcommands. */
  change(cmd: AclCommand, allow: boolean): void {
    this.setBit(cmd.fullname, allow);
    this.firstArgs.delete(cmd.fullname);
    for (const s of cmd.subs) this.setBit(s, allow);
  }

  private setAll(allow: boolean): void {
    this.base = allow;
    this.except.clear();
    this.firstArgs.clear();
  }

  private setCategory(catalog: AclCatalog, bit: number, allow: boolean): void {
    for (const c of catalog.all()) if ((c.mask & bit) !== 0) this.change(c, allow);
  }

  /** ACLSetSelector: applies one rule; returns Redis' error text or null. */
  apply(op: Buffer, catalog: AclCatalog): string | null {
    const s = op.toString('latin1');
    const lower = s.toLowerCase();
    if (lower === 'allkeys' || s === '~*') {
      this.allKeys = true;
      this.keys = [];
    } else if (lower === 'resetkeys') {
      this.allKeys = false;
      this.keys = [];
    } else if (lower === 'allchannels' || s === '&*') {
      this.allChannels = true;
      this.channels = [];
    } else if (lower === 'resetchannels') {
      this.allChannels = false;
      this.channels = [];
    } else if (lower === 'allcommands' || lower === '+@all') {
      this.setAll(true);
    } else if (lower === 'nocommands' || lower === '-@all') {
      this.setAll(false);
    } else if (s[0] === '~' || s[0] === '%') {
      if (this.allKeys) return E_KEYS_AFTER_ALL;
      let flags = 0;
      let offset = 1;
      if (s[0] === '%') {
        for (; offset < s.length; offset++) {
          const ch = s[offset]!.toUpperCase();
          if (ch === 'R' && (flags & KEY_READ) === 0) flags |= KEY_READ;
          else if (ch === 'W' && (flags & KEY_WRITE) === 0) flags |= KEY_WRITE;
          else if (s[offset] === '~') {
            offset++;
            break;
          } else return E_SYNTAX;
        }
      } else {
        flags = KEY_ALL;
      }
      const pattern = op.subarray(offset);
      if (hasSpaces(pattern)) return E_SYNTAX;
      const same = this.keys.find((k) => k.pattern.equals(pattern));
      if (same) same.flags |= flags;
      else this.keys.push({ pattern: Buffer.from(pattern), flags });
      this.allKeys = false;
    } else if (s[0] === '&') {
      if (this.allChannels) return E_CHANNELS_AFTER_ALL;
      const pattern = op.subarray(1);
      if (hasSpaces(pattern)) return E_SYNTAX;
      if (!this.channels.some((c) => c.equals(pattern))) this.channels.push(Buffer.from(pattern));
      this.allChannels = false;
    } else if (s[0] === '+' && s[1] !== '@') {
      const bar = s.lastIndexOf('|');
      if (bar < 0) {
        const cmd = catalog.get(lower.slice(1));
        if (!cmd) return E_UNKNOWN;
        this.change(cmd, true);
        return null;
      }
      const parent = catalog.get(lower.slice(1, bar));
      if (!parent) return E_UNKNOWN;
      if (parent.isSub) return E_FIRSTARG_OF_SUB;
      const sub = s.slice(bar + 1);
      if (sub === '') return E_SYNTAX;
      if (parent.subs.length > 0) {
        const cmd = catalog.get(lower.slice(1));
        if (!cmd) return E_UNKNOWN;
        this.change(cmd, true);
      } else {
        const list = this.firstArgs.get(parent.fullname) ?? [];
        if (!list.some((a) => a.toLowerCase() === sub.toLowerCase())) list.push(sub);
        this.firstArgs.set(parent.fullname, list);
      }
    } else if (s[0] === '-' && s[1] !== '@') {
      const cmd = catalog.get(lower.slice(1));
      if (!cmd) return E_UNKNOWN;
      this.change(cmd, false);
    } else if ((s[0] === '+' || s[0] === '-') && s[1] === '@') {
      const bit = categoryBit(s.slice(2));
      if (bit === 0) return E_UNKNOWN;
      this.setCategory(catalog, bit, s[0] === '+');
    } else {
      return E_SYNTAX;
    }
    return null;
  }

  /** ACLSelectorCheckCmd: ACL_OK, or the denial and the argv index it is about. */
  check(req: AclRequest): [number, number] {
    const name = req.cmd.fullname;
    if (!(this.base && this.except.size === 0) && !req.noAuth && !this.allows(name)) {
      const allowed = this.firstArgs.get(name);
      const idx = req.cmd.isSub ? 2 : 1;
      const arg = req.argv[idx]?.toString('latin1').toLowerCase();
      if (allowed === undefined || arg === undefined || !allowed.some((a) => a.toLowerCase() === arg)) return [DENIED_CMD, 0];
    }
    if (!this.allKeys) {
      for (const [pos, need] of req.keys()) if (!this.allowsKey(req.argv[pos]!, need)) return [DENIED_KEY, pos];
    }
    if (!this.allChannels) {
      for (const [pos, isPattern] of req.channels()) if (!this.allowsChannel(req.argv[pos]!, isPattern)) return [DENIED_CHANNEL, pos];
    }
    return [ACL_OK, 0];
  }

  /** ACLSelectorCheckKey for one key with the given needs (KEY_READ|KEY_WRITE). */
  allowsKey(key: Buffer, need: number): boolean {
    return this.allKeys || this.keys.some((p) => (p.flags & need) === need && globMatch(p.pattern, key, false));
  }

  /** A channel (not a pattern) this selector may publish or subscribe to. */
  allowsChannel(ch: Buffer, isPattern: boolean): boolean {
    return this.allChannels || this.channels.some((p) => (isPattern ? p.equals(ch) : globMatch(p, ch, false)));
  }

  /** The key patterns as ACL GETUSER shows them (`%R~a %W~b ~c`, or `~*`). */
  keysText(): string {
    if (this.allKeys) return '~*';
    return this.keys.map((k) => `${k.flags === KEY_ALL ? '~' : k.flags === KEY_READ ? '%R~' : '%W~'}${k.pattern.toString('latin1')}`).join(' ');
  }

  channelsText(): string {
    if (this.allChannels) return '&*';
    return this.channels.map((c) => `&${c.toString('latin1')}`).join(' ');
  }

  /**
   * ACLDescribeSelectorCommandRules: +@all or -@all, then the categories that fit best (more commands in common than
   * different, fewest differences first), then single commands to make the permissions exact.
   */
  describeCommands(catalog: AclCatalog): string {
    const all = catalog.all();
    const fake = new Selector(this.root, false);
    const rules: string[] = [];
    const additive = !this.base;
    rules.push(additive ? '-@all' : '+@all');
    fake.setAll(!additive);
    const temp = new Set<string>();
    for (const c of all) if (this.allows(c.fullname)) temp.add(c.fullname);
    const applied = new Set<number>();
    for (;;) {
      let best = -1;
      let minDiff = Number.MAX_SAFE_INTEGER;
      let maxSame = 0;
      for (let j = 0; j < ACL_CATEGORIES.length; j++) {
        if (applied.has(j)) continue;
        let on = 0;
        let off = 0;
        for (const c of all) {
          if ((c.mask & (1 << j)) === 0) continue;
          if (temp.has(c.fullname)) on++;
          else off++;
        }
        const diff = additive ? off : on;
        const same = additive ? on : off;
        if (same > diff && (diff < minDiff || (diff === minDiff && same > maxSame))) {
          best = j;
          minDiff = diff;
          maxSame = same;
        }
      }
      if (best < 0) break;
      const bit = 1 << best;
      rules.push(`${additive ? '+' : '-'}@${ACL_CATEGORIES[best]}`);
      fake.setCategory(catalog, bit, additive);
      for (const c of all) {
        if ((c.mask & bit) === 0) continue;
        if (additive) temp.delete(c.fullname);
        else temp.add(c.fullname);
        for (const s of c.subs) {
          if (additive) temp.delete(s);
          else temp.add(s);
        }
      }
      applied.add(best);
    }
    for (const c of all) {
      const user = this.allows(c.fullname);
      if (user !== fake.allows(c.fullname)) {
        rules.push(`${user ? '+' : '-'}${c.fullname}`);
        fake.change(c, user);
      }
      const first = this.firstArgs.get(c.fullname);
      if (!user && first) for (const a of first) rules.push(`+${c.fullname}|${a}`);
    }
    return rules.join(' ');
  }

  /** ACLDescribeSelector: keys, channels, then the command rules. */
  describe(catalog: AclCatalog): string {
    const parts = [this.keysText(), this.allChannels ? '&*' : `resetchannels ${this.channelsText()}`, this.describeCommands(catalog)];
    return parts.filter((p) => p.trim() !== '').map((p) => p.trim()).join(' ');
  }
}
