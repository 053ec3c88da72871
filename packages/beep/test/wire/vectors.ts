/** Loads the language-neutral test vectors in <repo>/test-vectors/beep/ (format: test-vectors/README.md). */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// Compiled to packages/beep/dist/test/wire/vectors.js: five levels up is the repository root.
export const VECTORS_DIR = new URL('../../../../../test-vectors/', import.meta.url);

export interface VectorFile<V> {
  file: string;
  kind: string;
  version: number;
  vectors: V[];
}

/** Every test-vectors/beep/<prefix>*.json file, parsed. */
export function loadVectorFiles<V>(prefix: string): Array<VectorFile<V>> {
  const dir = new URL('beep/', VECTORS_DIR);
  const names = readdirSync(fileURLToPath(dir))
    .filter((n) => n.startsWith(prefix) && n.endsWith('.json'))
    .sort();
  return names.map((file) => {
    const doc = JSON.parse(readFileSync(fileURLToPath(new URL(file, dir)), 'utf8')) as Omit<VectorFile<V>, 'file'>;
    return { file, ...doc };
  });
}

/** Bytes of a vector: `input` (each UTF-16 code unit 0..255 is one octet) or `input_b64`. */
export function frameBytes(text: string | undefined, b64: string | undefined): Buffer {
  if (b64 !== undefined) return Buffer.from(b64, 'base64');
  if (text === undefined) throw new Error('vector has neither input nor input_b64');
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0xff) throw new Error(`frame vector input has a code unit above 0xFF at ${i}`);
  }
  return Buffer.from(text, 'latin1');
}

/** Bytes of XML input: `input` is Unicode text sent as UTF-8, or raw `input_b64`. */
export function xmlBytes(text: string | undefined, b64: string | undefined): Buffer {
  if (b64 !== undefined) return Buffer.from(b64, 'base64');
  if (text === undefined) throw new Error('vector has neither input nor input_b64');
  return Buffer.from(text, 'utf8');
}
