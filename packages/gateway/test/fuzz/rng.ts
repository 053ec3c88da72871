/** Deterministic randomness of the fuzz harness: every input is a pure function of (run seed, target, index). */

/** mulberry32: a small, fast 32-bit PRNG; returns a function yielding uint32 values. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** FNV-1a of a string, as a seed component. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** The PRNG of input `index` of `target` in the run seeded `seed`. */
export function inputRng(seed: number, target: string, index: number): Rng {
  return new Rng(mulberry32((Math.imul(seed ^ hashString(target), 0x9e3779b1) + Math.imul(index, 0x85ebca6b)) >>> 0));
}

export class Rng {
  constructor(private readonly next32: () => number) {}
  /** Integer in [0, n). */
  int(n: number): number {
    return n <= 1 ? 0 : this.next32() % n;
  }
  chance(oneIn: number): boolean {
    return this.int(oneIn) === 0;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  byte(): number {
    return this.next32() & 0xff;
  }
}
