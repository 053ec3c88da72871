/** Turns vector outcomes and judge findings into one verdict per rule, and prints them. */
import type { Finding } from './judge.js';
import type { Rule } from './vectors.js';

export type Verdict = 'PASS' | 'FAIL' | 'N/A';

export interface Evidence {
  /** Where it comes from: a vector id or a probe name. */
  source: string;
  verdict: 'PASS' | 'FAIL' | 'N/A';
  detail?: string;
  /** The octets that prove a FAIL (ISO-8859-1, JSON-escaped when printed). */
  bytes?: string;
}

export interface RuleReport {
  id: string;
  force: Rule['force'];
  statement: string;
  verdict: Verdict;
  passes: number;
  failures: Evidence[];
  /** Why nothing checked it (N/A). */
  reason?: string;
}

export class Tally {
  private readonly ev = new Map<string, Evidence[]>();

  add(rule: string, e: Evidence): void {
    const l = this.ev.get(rule) ?? [];
    l.push(e);
    this.ev.set(rule, l);
  }

  addFindings(source: string, findings: readonly Finding[]): void {
    for (const f of findings) this.add(f.rule, { source, verdict: 'FAIL', detail: f.message, bytes: f.bytes });
  }

  report(rules: readonly Rule[]): RuleReport[] {
    return rules.map((r) => {
      const ev = this.ev.get(r.id) ?? [];
      const failures = ev.filter((e) => e.verdict === 'FAIL');
      const passes = ev.filter((e) => e.verdict === 'PASS').length;
      const na = ev.filter((e) => e.verdict === 'N/A');
      const verdict: Verdict = failures.length ? 'FAIL' : passes ? 'PASS' : 'N/A';
      const reason =
        verdict === 'N/A' ? (na.length ? [...new Set(na.map((e) => e.detail))].slice(0, 3).join('; ') : 'no applicable check') : undefined;
      return { id: r.id, force: r.force, statement: r.statement, verdict, passes, failures, ...(reason ? { reason } : {}) };
    });
  }
}

/** Exit status: 0 only when no MUST rule failed. */
export function exitStatus(reports: readonly RuleReport[]): number {
  return reports.some((r) => r.verdict === 'FAIL' && r.force === 'MUST') ? 1 : 0;
}

export function formatReport(reports: readonly RuleReport[], opts: { verbose?: boolean } = {}): string {
  const lines: string[] = [];
  for (const r of reports) {
    const extra = r.verdict === 'PASS' ? `(${r.passes} check${r.passes === 1 ? '' : 's'})` : r.verdict === 'N/A' ? `(${r.reason})` : '';
    lines.push(`${r.verdict.padEnd(4)} ${r.id.padEnd(6)} ${r.force.padEnd(6)} ${r.statement} ${extra}`.trimEnd());
    if (r.verdict === 'FAIL') {
      for (const f of r.failures.slice(0, opts.verbose ? 20 : 3)) {
        lines.push(`       ${f.source}: ${f.detail ?? ''}`);
        if (f.bytes !== undefined) lines.push(`       bytes: ${JSON.stringify(f.bytes.slice(0, 300))}`);
      }
      if (!opts.verbose && r.failures.length > 3) lines.push(`       ... and ${r.failures.length - 3} more (--verbose)`);
    }
  }
  const count = (v: Verdict): number => reports.filter((r) => r.verdict === v).length;
  const mustFail = reports.filter((r) => r.verdict === 'FAIL' && r.force === 'MUST').length;
  lines.push(`\n${count('PASS')} PASS, ${count('FAIL')} FAIL (${mustFail} MUST), ${count('N/A')} N/A`);
  return lines.join('\n') + '\n';
}
