import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandClient } from '../../src/backend/types.js';
import type { Gateway } from '../../src/gateway.js';
import { testGateway } from './helpers.js';
import { replay, type Vector } from './transcript-replayer.js';

const dir = join(dirname(fileURLToPath(import.meta.url)), '../../../../../test-vectors/gateway');

describe('gateway e2e: transcripts from test-vectors/gateway replayed against a live gateway', function () {
  this.timeout(15000);
  let gw: Gateway;
  let beam: CommandClient | undefined;
  before(async () => {
    // The reverse vectors reach listeners on ports picked per vector: any target is allowed here.
    gw = await testGateway({ allowBeepTargets: ['*'] });
  });
  beforeEach(async () => {
    beam = await gw.backend.openClient();
  });
  afterEach(() => beam?.close());
  after(async () => {
    await gw?.close(1000);
  });

  for (const file of ['job.json', 'resp.json', 'reverse.json']) {
    const doc = JSON.parse(readFileSync(join(dir, file), 'utf8')) as { vectors: Vector[] };
    for (const v of doc.vectors) {
      it(`${file}: ${v.id}`, async () => {
        expect(v.steps.length).to.be.greaterThan(0);
        await replay(v, { beepPort: gw.beepAddress.port, beam: beam! });
      });
    }
  }
});
