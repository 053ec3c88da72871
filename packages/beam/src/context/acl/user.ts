import { Buffer } from 'node:buffer';
import { createHash, timingSafeEqual } from 'node:crypto';
import { ACL_OK, DENIED_CMD, Selector, type AclCatalog, type AclRequest } from './selector.js';

const E_NO_SUCH_PASS = 'The password you are trying to remove from the user does not exist';
const E_BAD_HASH = 'The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters';

/** ACLHashPassword: SHA-256, lower-case hex. */
export function hashPassword(pass: Buffer): string {
  return createHash('sha256').update(pass).digest('hex');
}

function validHash(h: string): boolean {
  return /^[0-9a-f]{64}$/.test(h);
}

/**
 * An ACL user (Redis 7.0's `user`): on/off, passwords (SHA-256 hex), nopass, and its selectors — the root one
 * (rules outside parentheses) first, then any `(...)` selectors. A new user is off and may do nothing.
 */
export class AclUser {
  enabled = false;
  nopass = false;
  /** '' (never set), 'sanitize-payload' or 'skip-sanitize-payload' (accepted; DUMP payloads are always checked). */
  sanitize = '';
  passwords: string[] = [];
  selectors: Selector[];

  constructor(readonly name: string, allChannels: boolean) {
    this.selectors = [new Selector(true, allChannels)];
  }

  get root(): Selector {
    return this.selectors[0]!;
  }

  clone(name = this.name): AclUser {
    const u = new AclUser(name, false);
    u.enabled = this.enabled;
    u.nopass = this.nopass;
    u.sanitize = this.sanitize;
    u.passwords = [...this.passwords];
    u.selectors = this.selectors.map((s) => s.clone());
    return u;
  }

  /** Allows every command, key and channel through the root selector alone: checks can be skipped. */
  get unrestricted(): boolean {
    const r = this.root;
    return r.base && r.except.size === 0 && r.allKeys && r.allChannels;
  }

  /** ACLSetUser: applies one rule; returns Redis' error text or null. */
  apply(op: Buffer, catalog: AclCatalog, allChannels: boolean): string | null {
    if (op.length === 0) return null;
    const s = op.toString('latin1');
    const lower = s.toLowerCase();
    if (lower === 'on') this.enabled = true;
    else if (lower === 'off') this.enabled = false;
    else if (lower === 'skip-sanitize-payload' || lower === 'sanitize-payload') this.sanitize = lower;
    else if (lower === 'nopass') {
      this.nopass = true;
      this.passwords = [];
    } else if (lower === 'resetpass') {
      this.nopass = false;
      this.passwords = [];
    } else if (s[0] === '>' || s[0] === '#') {
      const h = s[0] === '>' ? hashPassword(op.subarray(1)) : s.slice(1);
      if (!validHash(h)) return E_BAD_HASH;
      if (!this.passwords.includes(h)) this.passwords.push(h);
      this.nopass = false;
    } else if (s[0] === '<' || s[0] === '!') {
      const h = s[0] === '<' ? hashPassword(op.subarray(1)) : s.slice(1);
      if (s[0] === '!' && !validHash(h)) return E_BAD_HASH;
      const i = this.passwords.indexOf(h);
      if (i < 0) return E_NO_SUCH_PASS;
      this.passwords.splice(i, 1);
    } else if (s[0] === '(' && s[s.length - 1] === ')') {
      const sel = new Selector(false, allChannels);
      for (const part of s.slice(1, -1).split(/\s+/)) {
        if (part === '') continue;
        const e = sel.apply(Buffer.from(part, 'latin1'), catalog);
        if (e !== null) return e;
      }
      this.selectors.push(sel);
    } else if (lower === 'clearselectors') {
      this.selectors.length = 1;
    } else if (lower === 'reset') {
      this.nopass = false;
      this.passwords = [];
      this.selectors = [new Selector(true, allChannels)];
      this.enabled = false;
      this.sanitize = 'sanitize-payload';
    } else {
      return this.root.apply(op, catalog);
    }
    return null;
  }

  /** ACLCheckAllUserCommandPerm: OK if any selector allows; else the most relevant denial and its argv index. */
  check(req: AclRequest): [number, number] {
    let reason = DENIED_CMD;
    let pos = 0;
    for (const s of this.selectors) {
      const [r, p] = s.check(req);
      if (r === ACL_OK) return [ACL_OK, 0];
      if (r > reason || (r === reason && p > pos)) {
        reason = r;
        pos = p;
      }
    }
    return [reason, pos];
  }

  checkPassword(pass: Buffer): boolean {
    if (this.nopass) return true;
    const h = Buffer.from(hashPassword(pass));
    let ok = false;
    for (const p of this.passwords) if (timingSafeEqual(Buffer.from(p), h)) ok = true;
    return ok;
  }

  /** The flags ACL GETUSER lists. */
  flags(): string[] {
    const out = [this.enabled ? 'on' : 'off'];
    if (this.nopass) out.push('nopass');
    if (this.sanitize === 'skip-sanitize-payload') out.push('skip-sanitize-payload');
    else if (this.sanitize === 'sanitize-payload') out.push('sanitize-payload');
    return out;
  }

  /** ACLDescribeUser: the rules that recreate this user (ACL LIST after `user <name> `). */
  describe(catalog: AclCatalog): string {
    const parts = [...this.flags(), ...this.passwords.map((p) => `#${p}`), this.root.describe(catalog)];
    for (const s of this.selectors.slice(1)) parts.push(`(${s.describe(catalog)})`);
    return parts.join(' ');
  }
}

/** ACLMergeSelectorArguments: `(` ... `)` spread over several arguments become one; null = unmatched parenthesis. */
export function mergeSelectorArgs(ops: Buffer[]): { ops: Buffer[] } | { unmatched: Buffer } {
  const out: Buffer[] = [];
  let open: Buffer[] | null = null;
  for (const op of ops) {
    if (open === null && op[0] === 0x28 && op[op.length - 1] !== 0x29) {
      open = [op];
      continue;
    }
    if (open !== null) {
      open.push(op);
      if (op[op.length - 1] === 0x29) {
        out.push(Buffer.concat(open.flatMap((b, i) => (i === 0 ? [b] : [Buffer.from(' '), b]))));
        open = null;
      }
      continue;
    }
    out.push(op);
  }
  return open !== null ? { unmatched: open[0]! } : { ops: out };
}
