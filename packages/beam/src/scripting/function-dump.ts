import { Buffer } from 'node:buffer';
import { ErrorReply, OK, type Reply } from '../wire/reply.js';
import { bodyAsRdb, dumpBody, withDumpTrailer } from '../context/cmd-dump.js';
import { parseRdb } from '../sync/rdb-reader.js';
import { RdbOpcode } from '../sync/rdb-format.js';
import type { ScriptEngine } from './engine.js';
import { libraryName } from './script-meta.js';

function rdbLength(len: number): Buffer {
  if (len < 1 << 6) return Buffer.from([len]);
  if (len < 1 << 14) return Buffer.from([0x40 | (len >> 8), len & 0xff]);
  const b = Buffer.alloc(5);
  b[0] = 0x80;
  b.writeUInt32BE(len, 1);
  return b;
}

/** FUNCTION DUMP: one RDB_OPCODE_FUNCTION2 record (the library code) per library. */
export function dumpFunctions(e: ScriptEngine): Reply {
  const parts: Buffer[] = [];
  for (const lib of e.libraries.values()) parts.push(Buffer.from([RdbOpcode.FUNCTION2]), rdbLength(lib.code.length), lib.code);
  return withDumpTrailer(Buffer.concat(parts));
}

/** FUNCTION RESTORE payload [FLUSH|APPEND|REPLACE]. */
export function restoreFunctions(e: ScriptEngine, payload: Buffer, policy: 'flush' | 'append' | 'replace'): Reply {
  const body = dumpBody(payload);
  if (body === null) return new ErrorReply('ERR DUMP payload version or checksum are wrong');
  let codes: Buffer[];
  try {
    const rdb = parseRdb(bodyAsRdb(body, false));
    if (rdb.entries.length > 0) return new ErrorReply('ERR given type is not a function');
    codes = rdb.functions;
  } catch {
    return new ErrorReply('ERR payload is not a valid functions dump');
  }
  const libs = [...e.libraries.values()].map((l) => l.code);
  if (policy === 'append') {
    // libraryJoin's texts (no quotes, unlike FUNCTION LOAD's).
    for (const code of codes) {
      const name = libraryName(code);
      if (name !== null && e.libraries.has(name)) return new ErrorReply(`ERR Library ${name} already exists`);
    }
  }
  if (policy === 'flush') e.flushFunctions();
  if (policy === 'append') {
    for (const code of codes) {
      const r = e.loadLibrary(code, false);
      if (r instanceof ErrorReply) return r;
    }
    return OK;
  }
  for (const code of codes) {
    const r = e.loadLibrary(code, true);
    if (r instanceof ErrorReply) {
      // Put the previous libraries back, as Redis does when a restore fails.
      e.flushFunctions();
      for (const c of libs) e.loadLibrary(c, true);
      return r;
    }
  }
  return OK;
}
