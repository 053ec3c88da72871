/** Random selection helpers for SPOP, SRANDMEMBER, HRANDFIELD (injectable random source). */

/** Up to `count` distinct items; all of them (in their own order) when count >= length. */
export function randomSample<T>(random: () => number, items: T[], count: number): T[] {
  const n = items.length;
  if (count >= n) return items;
  // Partial Fisher-Yates on a copy of the indexes we touch.
  const a = items.slice();
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (n - i));
    const tmp = a[i]!;
    a[i] = a[j]!;
    a[j] = tmp;
  }
  a.length = count;
  return a;
}

/** `count` indexes in [0, n), repeats allowed (negative counts). */
export function randomIndexes(random: () => number, n: number, count: number): number[] {
  if (n === 0) return [];
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) out[i] = Math.floor(random() * n);
  return out;
}
