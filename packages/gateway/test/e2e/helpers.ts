import type { Readable } from 'node:stream';
import { startGateway, type Gateway, type GatewayOptions } from '../../src/gateway.js';

export async function collect(r: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of r) parts.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(parts);
}

/** A gateway on ephemeral ports (BEEP only unless asked). */
export function testGateway(opts: GatewayOptions = {}): Promise<Gateway> {
  return startGateway({ beep: { host: '127.0.0.1', port: 0 }, resp: null, ...opts });
}

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gcFn: (() => void) | undefined;
/**
 * Heap plus Buffer memory still reachable, measured after full GCs (exposed at run time). Two of them: V8 frees the
 * backing stores of dead ArrayBuffers on a background thread after a GC, so right after one `gc()` the
 * `arrayBuffers` figure may still count tens of MiB of garbage, depending on that thread's timing; the next GC
 * first waits for that sweep to finish.
 */
export function liveMemory(): number {
  if (!gcFn) {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  gcFn();
  gcFn();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}
