import type { Rng } from './rng.js';

/** Byte values that often sit on parser boundaries. */
const INTERESTING_BYTES = [0x00, 0x01, 0x0a, 0x0d, 0x20, 0x2d, 0x2e, 0x30, 0x31, 0x39, 0x3a, 0x3c, 0x3e, 0x7f, 0x80, 0xc0, 0xfe, 0xff];
/** Numbers (as text) around the limits parsers check: sign, zero, 31/32/53/64-bit edges, huge. */
const INTERESTING_NUMBERS = ['0', '-1', '1', '00', '007', '255', '256', '65535', '65536', '2147483647', '2147483648', '4294967295', '4294967296', '9007199254740991', '9007199254740993', '18446744073709551615', '99999999999999999999', '-2147483648', '1e3', ' 1', '+1'];

/** Largest input the mutator produces (bigger inputs test nothing new and slow the run). */
export const MAX_INPUT = 64 * 1024;

/**
 * One mutated input from a seed: 1 to 8 stacked mutations (AFL-style havoc): bit flips, interesting bytes and
 * numbers, inserts, deletes, duplicated or swapped blocks, a splice with another seed, dictionary tokens,
 * truncation. Deterministic for a given Rng.
 */
export function mutate(rng: Rng, seed: Buffer, others: readonly Buffer[], dict: readonly Buffer[]): Buffer {
  let b = Buffer.from(seed);
  const rounds = 1 + rng.int(8);
  for (let r = 0; r < rounds; r++) {
    const pos = (): number => rng.int(b.length + 1);
    switch (rng.int(12)) {
      case 0: // flip a bit
        if (b.length > 0) b[rng.int(b.length)]! ^= 1 << rng.int(8);
        break;
      case 1: // a random byte
        if (b.length > 0) b[rng.int(b.length)] = rng.byte();
        break;
      case 2: // an interesting byte
        if (b.length > 0) b[rng.int(b.length)] = rng.pick(INTERESTING_BYTES);
        break;
      case 3: { // replace a run of digits (or insert) with an interesting number
        const at = pos();
        let end = at;
        while (end < b.length && b[end]! >= 0x30 && b[end]! <= 0x39) end++;
        b = Buffer.concat([b.subarray(0, at), Buffer.from(rng.pick(INTERESTING_NUMBERS)), b.subarray(end)]);
        break;
      }
      case 4: { // delete a block
        const at = pos();
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + rng.int(16)))]);
        break;
      }
      case 5: { // insert random bytes
        const n = 1 + rng.int(16);
        const ins = Buffer.alloc(n);
        for (let i = 0; i < n; i++) ins[i] = rng.byte();
        const at = pos();
        b = Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
        break;
      }
      case 6: { // duplicate a block (repetition finds counters and nesting bugs)
        if (b.length === 0) break;
        const from = rng.int(b.length);
        const block = b.subarray(from, Math.min(b.length, from + 1 + rng.int(64)));
        const times = 1 + rng.int(rng.chance(8) ? 64 : 4);
        const at = pos();
        b = Buffer.concat([b.subarray(0, at), ...Array<Buffer>(times).fill(block), b.subarray(at)]);
        break;
      }
      case 7: { // swap two blocks
        if (b.length < 4) break;
        const x = rng.int(b.length - 1);
        const y = x + 1 + rng.int(b.length - x - 1);
        const t = b[x]!;
        b[x] = b[y]!;
        b[y] = t;
        break;
      }
      case 8: { // splice: head of this, tail of another seed
        const o = rng.pick(others);
        b = Buffer.concat([b.subarray(0, pos()), o.subarray(rng.int(o.length + 1))]);
        break;
      }
      case 9: // insert a dictionary token
      case 10: {
        if (dict.length === 0) break;
        const at = pos();
        const tok = rng.pick(dict);
        const overwrite = rng.chance(2);
        b = Buffer.concat([b.subarray(0, at), tok, b.subarray(overwrite ? Math.min(b.length, at + tok.length) : at)]);
        break;
      }
      default: // truncate
        b = b.subarray(0, pos());
        break;
    }
    if (b.length > MAX_INPUT) b = b.subarray(0, MAX_INPUT);
  }
  return b;
}

/** Cuts an input into 1 to 4 chunks, for the incremental parsers (a frame split anywhere must parse the same). */
export function chunks(rng: Rng, input: Buffer): Buffer[] {
  const n = rng.int(4);
  const cuts = Array.from({ length: n }, () => rng.int(input.length + 1)).sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of cuts) {
    out.push(input.subarray(from, c));
    from = c;
  }
  out.push(input.subarray(from));
  return out;
}
