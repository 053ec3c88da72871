import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Reads the codes docs/errors.md lists for a package: every back-quoted code (upper-case `A_B`, or the lower-case
 * `a-b` of RESP protocol errors) in the shared table at the top and in the package's `## @beamgate/<name>`
 * section. Used by each package's error-contract test, so that the page and the code cannot drift apart.
 */
export function documentedErrorCodes(markdown: string, pkg: 'beep' | 'beam' | 'gateway'): Set<string> {
  const first = markdown.indexOf('\n## @beamgate/');
  const shared = first < 0 ? markdown : markdown.slice(0, first);
  const start = markdown.indexOf(`\n## @beamgate/${pkg}`);
  if (start < 0) throw new Error(`docs/errors.md has no section for @beamgate/${pkg}`);
  const next = markdown.indexOf('\n## ', start + 1);
  const section = markdown.slice(start, next < 0 ? undefined : next);
  const codes = new Set<string>();
  for (const text of [shared, section]) {
    for (const m of text.matchAll(/`([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|[a-z]+(?:-[a-z]+)+)`/g)) codes.add(m[1]!);
  }
  return codes;
}

/** The text of docs/errors.md, found by walking up from `fromDir` (a test's directory). */
export function readErrorsDoc(fromDir: string): string {
  let dir = fromDir;
  while (!existsSync(path.join(dir, 'docs', 'errors.md'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`docs/errors.md not found above ${fromDir}`);
    dir = up;
  }
  return readFileSync(path.join(dir, 'docs', 'errors.md'), 'utf8');
}
