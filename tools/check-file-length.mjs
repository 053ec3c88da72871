#!/usr/bin/env node
// No source file over MAX lines (docs/architecture.md, "Rules the checker enforces"): every .ts under
// packages/*/src of ROOT. Usage: node tools/check-file-length.mjs [ROOT] [MAX]. Exits 1 and lists the files over.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(process.argv[2] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '..'));
const max = Number(process.argv[3] ?? 600);

function* tsFiles(dir) {
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) yield* tsFiles(p);
    else if (name.endsWith('.ts')) yield p;
  }
}

const over = [];
const pkgs = path.join(root, 'packages');
for (const pkg of readdirSync(pkgs)) {
  const src = path.join(pkgs, pkg, 'src');
  try {
    if (!statSync(src).isDirectory()) continue;
  } catch {
    continue;
  }
  for (const f of tsFiles(src)) {
    const text = readFileSync(f, 'utf8');
    const lines = text.length === 0 ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
    if (lines > max) over.push(`${path.relative(root, f)}: ${lines} lines`);
  }
}
if (over.length > 0) {
  console.error(`error max-file-length: ${over.length} file(s) over ${max} lines (split them by job):\n  ${over.join('\n  ')}`);
  process.exit(1);
}
console.log(`max-file-length: no .ts file in packages/*/src over ${max} lines`);
