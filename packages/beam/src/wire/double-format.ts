/**
 * Formats a double like C's printf("%.17g"), which Redis 7.0 uses for double replies
 * (e.g. 1.1 -> "1.1000000000000001", 1e20 -> "1e+20"); inf/-inf/nan as Redis writes them.
 */
export function formatDouble(d: number): string {
  if (Number.isNaN(d)) return 'nan';
  if (d === Infinity) return 'inf';
  if (d === -Infinity) return '-inf';
  if (d === 0) return Object.is(d, -0) ? '-0' : '0';
  if (Number.isInteger(d) && Math.abs(d) < 1e17) return String(d);
  const exp = d.toExponential(16); // 17 significant digits: "d.dddde[+-]x"
  const ePos = exp.indexOf('e');
  const x = Number(exp.slice(ePos + 1));
  let mant = exp.slice(0, ePos);
  if (x < -4 || x >= 17) {
    mant = stripZeros(mant);
    const sign = x < 0 ? '-' : '+';
    const ax = Math.abs(x);
    return `${mant}e${sign}${ax < 10 ? '0' : ''}${ax}`;
  }
  return stripZeros(d.toFixed(Math.max(0, 16 - x)));
}

/** Drops trailing zeros of a decimal fraction, and the point if nothing is left after it. */
export function stripZeros(s: string): string {
  if (s.indexOf('.') < 0) return s;
  let e = s.length;
  while (s.charCodeAt(e - 1) === 48) e--;
  if (s.charCodeAt(e - 1) === 46) e--;
  return s.slice(0, e);
}
