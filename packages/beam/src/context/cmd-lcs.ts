import type { Impl } from './keyspace.js';
import { ErrorReply, RespMap, type Reply } from '../wire/reply.js';
import { T_STRING, keyString } from './store.js';
import { parseInt64 } from './numbers.js';
import { E_NOT_INT, E_SYNTAX, wrongArgs } from './replies.js';


const E_NOT_STRINGS = new ErrorReply('ERR The specified keys must contain string values');
const EMPTY = Buffer.alloc(0);

/**
 * LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN] (Redis 7.0): the longest common subsequence of two
 * strings, its length, or the matching ranges (walked from the end of both strings, as Redis reports them).
 */
export const lcs: Impl = (ctx, client, argv) => {
  if (argv.length < 3) return wrongArgs('lcs');
  const db = ctx.dbs[client.db]!;
  const ea = ctx.lookup(db, keyString(argv[1]!));
  const eb = ctx.lookup(db, keyString(argv[2]!));
  if ((ea && ea.t !== T_STRING) || (eb && eb.t !== T_STRING)) return E_NOT_STRINGS;
  const a = ea ? (ea.v as Buffer) : EMPTY;
  const b = eb ? (eb.v as Buffer) : EMPTY;
  let getLen = false;
  let getIdx = false;
  let withMatchLen = false;
  let minMatchLen = 0;
  for (let j = 3; j < argv.length; j++) {
    const opt = argv[j]!.toString('latin1').toLowerCase();
    if (opt === 'idx') getIdx = true;
    else if (opt === 'len') getLen = true;
    else if (opt === 'withmatchlen') withMatchLen = true;
    else if (opt === 'minmatchlen' && j + 1 < argv.length) {
      const n = parseInt64(argv[++j]!);
      if (n === null) return E_NOT_INT;
      minMatchLen = n < 0 ? 0 : Number(n);
    } else return E_SYNTAX;
  }
  if (getLen && getIdx) return new ErrorReply('ERR If you want both the length and indexes, please just use IDX.');
  const w = b.length + 1;
  const cells = (a.length + 1) * w;
  // The DP table's cap (4 bytes per cell) follows proto-max-bulk-len, as in Redis.
  if (cells * 4 > ctx.maxLcsTableBytes) {
    return new ErrorReply('ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len');
  }
  // t[i*w + j] = LCS length of a[0..i) and b[0..j).
  const t = new Uint32Array(cells);
  for (let i = 1; i <= a.length; i++) {
    const ai = a[i - 1];
    for (let j = 1; j <= b.length; j++) {
      t[i * w + j] = ai === b[j - 1] ? t[(i - 1) * w + j - 1]! + 1 : Math.max(t[(i - 1) * w + j]!, t[i * w + j - 1]!);
    }
  }
  const total = t[a.length * w + b.length]!;
  if (getLen) return total;
  const out = Buffer.allocUnsafe(total);
  const matches: Reply[] = [];
  let k = total;
  let i = a.length;
  let j = b.length;
  // Current contiguous range (a side [as, ae], b side [bs, be]); as === -1 when none is open.
  let as = -1;
  let ae = 0;
  let bs = 0;
  let be = 0;
  while (i > 0 && j > 0) {
    let emit = false;
    if (a[i - 1] === b[j - 1]) {
      out[--k] = a[i - 1]!;
      if (as === -1) {
        as = ae = i - 1;
        bs = be = j - 1;
      } else if (as === i && bs === j) {
        as--;
        bs--;
      } else {
        emit = true;
      }
      if (as === 0 || bs === 0) emit = true;
      i--;
      j--;
    } else {
      if (t[(i - 1) * w + j]! > t[i * w + j - 1]!) i--;
      else j--;
      if (as !== -1) emit = true;
    }
    if (emit) {
      const len = ae - as + 1;
      if (getIdx && (minMatchLen === 0 || len >= minMatchLen)) {
        matches.push(withMatchLen ? [[as, ae], [bs, be], len] : [[as, ae], [bs, be]]);
      }
      as = -1;
    }
  }
  if (getIdx) return new RespMap([['matches', matches], ['len', total]]);
  return out;
};
