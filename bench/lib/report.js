// Figures and tables of the bench reports.
import os from 'node:os';

/** The nearest-rank quantile `q` (0..1) of an ascending array; NaN when it is empty. */
export function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** `n` with thousands separators and exactly `digits` decimals (en-US). */
export function fmt(n, digits = 0) {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

/** A Markdown table: the first column left-aligned, the others right-aligned. */
export function table(headers, rows) {
  const lines = [`| ${headers.join(' | ')} |`, `|${headers.map((h, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const r of rows) lines.push(`| ${r.join(' | ')} |`);
  return lines.join('\n');
}

/** `N CPUs (model)` of this machine. */
export function cpuSummary() {
  const cpus = os.cpus();
  return `${cpus.length} CPUs (${cpus[0]?.model ?? '?'})`;
}
