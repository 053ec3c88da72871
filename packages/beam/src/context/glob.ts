/**
 * Glob matching with Redis' stringmatchlen rules (KEYS, SCAN MATCH, PSUBSCRIBE):
 * `*`, `?`, `[abc]`, `[^a-z]`, `\x` escapes; bytes compared as C `char` (signed) inside ranges.
 * Iterative with single-star backtracking, so it is O(pattern * subject) at worst.
 */

const STAR = 0x2a;
const QUESTION = 0x3f;
const OPEN = 0x5b;
const CLOSE = 0x5d;
const BACKSLASH = 0x5c;
const CARET = 0x5e;
const DASH = 0x2d;

function signed(b: number): number {
  return b >= 128 ? b - 256 : b;
}

function lower(b: number): number {
  return b >= 0x41 && b <= 0x5a ? b + 32 : b;
}

/**
 * Matches one pattern token starting at `pi` (not `*`) against byte `c`.
 * Returns the index after the token when it matches, or -(index after token) - 1 when it does not.
 */
function matchToken(p: Uint8Array, pi: number, c: number, nocase: boolean): number {
  const plen = p.length;
  const t = p[pi]!;
  if (t === QUESTION) return pi + 1;
  if (t === OPEN) {
    pi++;
    const not = pi < plen && p[pi] === CARET;
    if (not) pi++;
    let match = false;
    for (;;) {
      const left = plen - pi;
      if (left >= 2 && p[pi] === BACKSLASH) {
        pi++;
        if (p[pi] === c) match = true;
      } else if (left > 0 && p[pi] === CLOSE) {
        break;
      } else if (left <= 0) {
        pi--;
        break;
      } else if (left >= 3 && p[pi + 1] === DASH) {
        let start = signed(p[pi]!);
        let end = signed(p[pi + 2]!);
        let ch = signed(c);
        if (start > end) {
          const tmp = start;
          start = end;
          end = tmp;
        }
        if (nocase) {
          start = lower(start);
          end = lower(end);
          ch = lower(ch);
        }
        pi += 2;
        if (ch >= start && ch <= end) match = true;
      } else if (nocase ? lower(p[pi]!) === lower(c) : p[pi] === c) {
        match = true;
      }
      pi++;
    }
    if (not) match = !match;
    return match ? pi + 1 : -(pi + 1) - 1;
  }
  let lit = t;
  if (t === BACKSLASH && plen - pi >= 2) {
    pi++;
    lit = p[pi]!;
  }
  const ok = nocase ? lower(lit) === lower(c) : lit === c;
  return ok ? pi + 1 : -(pi + 1) - 1;
}

/** True when `subject` matches the glob `pattern` (both raw bytes). */
export function globMatch(pattern: Uint8Array, subject: Uint8Array, nocase = false): boolean {
  const plen = pattern.length;
  const slen = subject.length;
  let pi = 0;
  let si = 0;
  let starP = -1;
  let starS = 0;
  for (;;) {
    if (pi < plen) {
      if (pattern[pi] === STAR) {
        while (pi < plen && pattern[pi] === STAR) pi++;
        if (pi === plen) return true;
        starP = pi;
        starS = si;
        continue;
      }
      if (si < slen) {
        const r = matchToken(pattern, pi, subject[si]!, nocase);
        if (r >= 0) {
          pi = r;
          si++;
          continue;
        }
      }
    } else if (si === slen) {
      return true;
    }
    if (starP >= 0 && starS < slen) {
      starS++;
      si = starS;
      pi = starP;
      continue;
    }
    return false;
  }
}

