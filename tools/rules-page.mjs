#!/usr/bin/env node
// Renders test-vectors/rules.json as docs/rules.md. `--check` exits 1 when docs/rules.md is not up to date.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('..', import.meta.url));
const rulesPath = join(root, 'test-vectors', 'rules.json');
const pagePath = join(root, 'docs', 'rules.md');

const GROUPS = [
  ['A', 'Frame header'], ['B', 'Payload and trailer'], ['C', 'Message correlation'], ['D', 'seqno and window'],
  ['E', 'SEQ (RFC 3081)'], ['F', 'Session'], ['G', 'Channel-0 XML'], ['H', 'Starting and closing channels'],
  ['I', 'Reply codes'], ['J', 'TLS profile'], ['K', 'SASL profiles'], ['RESP', 'RESP (Redis protocol)'],
  ['BEAM', 'Beam job protocol'], ['GW', 'Gateway'], ['ROBUST', 'Robustness of every parser'],
];

export function render() {
  const doc = JSON.parse(readFileSync(rulesPath, 'utf8'));
  const esc = (s) => String(s).replace(/\|/g, '\\|');
  const out = [
    '# Rules checked by the test vectors',
    '',
    '<!-- Generated from test-vectors/rules.json by `node tools/rules-page.mjs`; edit the JSON, not this page. -->',
    '',
    'Every vector in `test-vectors/` names the rule it checks in `rule` (and `rules`); this page lists them all, in our',
    "own words. **Force** is the RFC 2119 strength (`beep conform` exits non-zero only for a failed MUST); **applies**",
    'says who must obey it (a `receiver` rule is checked by feeding bad input, a `sender` rule by watching what the peer',
    'sends). The RFC texts are the authority; where they leave a choice open, `test-vectors/README.md` says which one the',
    'vectors make. How to run the checks against a live peer: [conformance.md](conformance.md).',
    '',
  ];
  for (const [prefix, title] of GROUPS) {
    const rules = doc.rules.filter((r) => r.id.split('.')[0] === prefix);
    if (rules.length === 0) continue;
    out.push(`## ${prefix}. ${title}`, '', '| id | source | force | applies | rule |', '|---|---|---|---|---|');
    for (const r of rules) {
      out.push(`| ${r.id} | ${esc(r.spec)} §${esc(r.section)} | ${r.force} | ${r.applies} | ${esc(r.statement)} |`);
    }
    out.push('');
  }
  return out.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const page = render();
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(pagePath, 'utf8');
    } catch {}
    if (current !== page) {
      process.stderr.write('docs/rules.md is out of date: run node tools/rules-page.mjs\n');
      process.exit(1);
    }
  } else {
    writeFileSync(pagePath, page);
  }
}
