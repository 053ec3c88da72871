import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import type { DispatchClient } from '../context/dispatch.js';
import { ErrorReply } from '../wire/reply.js';

/** Script flags (shebang `#!lua flags=...` and FUNCTION register_function flags), Redis' names. */
export const SCRIPT_FLAGS = ['no-writes', 'allow-oom', 'allow-stale', 'no-cluster', 'allow-cross-slot-keys'] as const;

export interface ScriptFlags {
  /** No shebang: an EVAL script in Redis 6 compatibility mode. */
  compat: boolean;
  flags: Set<string>;
}

export interface CachedScript {
  body: Buffer;
  ref: number;
  flags: ScriptFlags;
}

export interface LibraryFunction {
  name: string;
  description: string | null;
  flags: Set<string>;
  ref: number;
  library: Library;
}

export interface Library {
  name: string;
  engine: string;
  code: Buffer;
  functions: Map<string, LibraryFunction>;
}

/** What the run of one script knows (Redis' scriptRunCtx). */
export interface RunState {
  caller: DispatchClient;
  /** The caller's EVAL/FCALL command line (FUNCTION STATS). */
  command: Buffer[];
  lua: DispatchClient;
  name: string;
  evalMode: boolean;
  readOnly: boolean;
  writeDirty: boolean;
  /** SCRIPT KILL / FUNCTION KILL (or SHUTDOWN NOSAVE) asked it to stop. */
  killed: boolean;
  /** Has run past busy-reply-threshold: other clients get BUSY. */
  timedOut: boolean;
  startedAt: number;
}


export function sha1hex(b: Uint8Array): string {
  return createHash('sha1').update(b).digest('hex');
}

/** sdssplitargs: words separated by spaces, "double quotes" with \xHH and \n-style escapes, 'single quotes'. */
function splitArgs(line: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  const n = line.length;
  for (;;) {
    while (i < n && /\s/.test(line[i]!)) i++;
    if (i >= n) return out;
    let cur = '';
    let inq = false;
    let insq = false;
    for (;;) {
      const c = line[i];
      if (inq) {
        if (c === undefined) return null;
        if (c === '\\' && line[i + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(line.slice(i + 2, i + 4))) {
          cur += String.fromCharCode(Number.parseInt(line.slice(i + 2, i + 4), 16));
          i += 3;
        } else if (c === '\\' && i + 1 < n) {
          const e = line[++i]!;
          cur += ({ n: '\n', r: '\r', t: '\t', b: '\b', a: '\x07' } as Record<string, string>)[e] ?? e;
        } else if (c === '"') {
          if (i + 1 < n && !/\s/.test(line[i + 1]!)) return null;
          inq = false;
          i++;
          break;
        } else {
          cur += c;
        }
      } else if (insq) {
        if (c === undefined) return null;
        if (c === '\\' && line[i + 1] === "'") {
          cur += "'";
          i++;
        } else if (c === "'") {
          if (i + 1 < n && !/\s/.test(line[i + 1]!)) return null;
          insq = false;
          i++;
          break;
        } else {
          cur += c;
        }
      } else if (c === undefined || /\s/.test(c)) {
        break;
      } else if (c === '"') {
        inq = true;
      } else if (c === "'") {
        insq = true;
      } else {
        cur += c;
      }
      i++;
    }
    out.push(cur);
  }
}

/** evalExtractShebangFlags: `#!lua flags=no-writes,allow-oom`. Returns the flags and the shebang length, or an error. */
export function parseShebang(body: Buffer): { flags: ScriptFlags; skip: number } | string {
  if (body[0] !== 0x23 || body[1] !== 0x21) return { flags: { compat: true, flags: new Set() }, skip: 0 };
  const nl = body.indexOf(0x0a);
  if (nl < 0) return 'Invalid script shebang';
  const parts = splitArgs(body.toString('latin1', 0, nl));
  if (parts === null || parts.length === 0) return 'Invalid engine in script shebang';
  if (parts[0] !== '#!lua') return `Unexpected engine in script shebang: ${parts[0]}`;
  const flags = new Set<string>();
  for (const p of parts.slice(1)) {
    if (!p.startsWith('flags=')) return `Unknown lua shebang option: ${p}`;
    const list = p.slice(6);
    for (const f of list === '' ? [] : list.split(',')) {
      if (!(SCRIPT_FLAGS as readonly string[]).includes(f)) return `Unexpected flag in script shebang: ${f}`;
      flags.add(f);
    }
  }
  return { flags: { compat: false, flags }, skip: nl };
}


/** EVAL's numkeys (getLongLongFromObjectOrReply) or FCALL's ("Bad number of keys provided"). */
export function parseNumKeys(b: Buffer, fcall: boolean): number | ErrorReply {
  const s = b.toString('latin1');
  if (!/^-?\d+$/.test(s) || !Number.isSafeInteger(Number(s))) {
    return new ErrorReply(fcall ? 'ERR Bad number of keys provided' : 'ERR value is not an integer or out of range');
  }
  const n = Number(s);
  if (n < 0) return new ErrorReply('ERR Number of keys can\'t be negative');
  return n;
}

/** The library name a FUNCTION LOAD payload declares, or null. */
export function libraryName(code: Buffer): string | null {
  const md = parseLibraryMeta(code);
  return typeof md === 'string' ? null : md.name;
}

/** functionExtractLibMetaData: `#!<engine> name=<lib>` on the first line. */
export function parseLibraryMeta(code: Buffer): { engine: string; name: string; skip: number } | string {
  if (code[0] !== 0x23 || code[1] !== 0x21) return 'Missing library metadata';
  const nl = code.indexOf(0x0a);
  if (nl < 0) return 'Invalid library metadata';
  const parts = splitArgs(code.toString('latin1', 0, nl));
  if (parts === null || parts.length === 0) return 'Invalid library metadata';
  const engine = parts[0]!.slice(2);
  let name: string | null = null;
  for (const p of parts.slice(1)) {
    if (p.slice(0, 5).toLowerCase() === 'name=') {
      if (name !== null) return 'Invalid metadata value, name argument was given multiple times';
      name = p.slice(5);
      continue;
    }
    return `Invalid metadata value given: ${p}`;
  }
  if (name === null) return 'Library name was not given';
  return { engine, name, skip: nl };
}
