import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Loads test-vectors/resp/<name> (found by walking up from this file). */
export function loadRespVectors<T>(name: string): T {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'test-vectors'))) {
    const up = path.dirname(dir);
    if (up === dir) throw new Error('test-vectors not found');
    dir = up;
  }
  return JSON.parse(readFileSync(path.join(dir, 'test-vectors', 'resp', name), 'utf8')) as T;
}

/** Vector strings hold one byte per character (U+0000..U+00FF). */
export function bytes(s: string): Buffer {
  return Buffer.from(s, 'latin1');
}
