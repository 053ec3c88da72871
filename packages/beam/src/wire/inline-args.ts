/**
 * Splits an inline command line into arguments with the rules of Redis' sdssplitargs():
 * whitespace separates; "double quotes" understand \n \r \t \b \a \xHH and \<any>; 'single quotes'
 * understand only \'; a closing quote must be followed by whitespace or the end of the line.
 * Returns null for unbalanced quotes.
 */

function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

export function splitInlineArgs(buf: Buffer, start: number, end: number): Buffer[] | null {
  const args: Buffer[] = [];
  let p = start;
  for (;;) {
    while (p < end && isSpace(buf[p]!)) p++;
    if (p >= end) return args;
    const c0 = buf[p]!;
    if (c0 !== 34 && c0 !== 39) {
      // Fast path: a bare word.
      const s = p;
      while (p < end) {
        const c = buf[p]!;
        if (isSpace(c) || c === 34 || c === 39) break;
        p++;
      }
      if (p >= end || isSpace(buf[p]!)) {
        args.push(Buffer.from(buf.subarray(s, p)));
        continue;
      }
      p = s;
    }
    const r = readQuotedArg(buf, p, end);
    if (r === null) return null;
    args.push(r.arg);
    p = r.next;
  }
}

/** The general case of one argument that mixes bare text and quoted parts. */
function readQuotedArg(buf: Buffer, start: number, end: number): { arg: Buffer; next: number } | null {
  const out: number[] = [];
  let p = start;
  let inDq = false;
  let inSq = false;
  for (;;) {
    if (inDq) {
      if (p >= end) return null;
      const c = buf[p]!;
      if (c === 92 && p + 3 < end + 0 && buf[p + 1] === 120 && hexVal(buf[p + 2]!) >= 0 && hexVal(buf[p + 3]!) >= 0) {
        out.push(hexVal(buf[p + 2]!) * 16 + hexVal(buf[p + 3]!));
        p += 4;
        continue;
      }
      if (c === 92 && p + 1 < end) {
        p++;
        const e = buf[p]!;
        out.push(e === 110 ? 10 : e === 114 ? 13 : e === 116 ? 9 : e === 98 ? 8 : e === 97 ? 7 : e);
        p++;
        continue;
      }
      if (c === 34) {
        // Closing quote must be followed by a space or nothing.
        if (p + 1 < end && !isSpace(buf[p + 1]!)) return null;
        inDq = false;
        p++;
        return { arg: Buffer.from(out), next: p };
      }
      out.push(c);
      p++;
    } else if (inSq) {
      if (p >= end) return null;
      const c = buf[p]!;
      if (c === 92 && p + 1 < end && buf[p + 1] === 39) {
        out.push(39);
        p += 2;
        continue;
      }
      if (c === 39) {
        if (p + 1 < end && !isSpace(buf[p + 1]!)) return null;
        inSq = false;
        p++;
        return { arg: Buffer.from(out), next: p };
      }
      out.push(c);
      p++;
    } else {
      if (p >= end) return { arg: Buffer.from(out), next: p };
      const c = buf[p]!;
      if (isSpace(c)) return { arg: Buffer.from(out), next: p };
      if (c === 34) inDq = true;
      else if (c === 39) inSq = true;
      else out.push(c);
      p++;
    }
  }
}
