import { expect } from 'chai';
import type { BeamServer } from '../../src/server/server.js';
import { bytes, loadRespVectors } from '../wire/vectors.js';
import { rawExchange, startServer } from './helpers.js';

interface SessionVector {
  id: string;
  description: string;
  send: string;
  expect?: string;
  expectPattern?: string;
  closed: boolean;
}

describe('server: session vectors recorded from redis-server 7.0 (test-vectors/resp/server-sessions.json)', function () {
  this.timeout(30000);
  const { vectors } = loadRespVectors<{ vectors: SessionVector[] }>('server-sessions.json');
  let server: BeamServer;
  let port: number;
  before(async () => {
    ({ server, port } = await startServer());
  });
  after(async () => {
    await server.close();
  });

  for (const v of vectors) {
    it(v.id, async () => {
      const re = v.expectPattern ? new RegExp(v.expectPattern, 's') : null;
      const done = (d: Buffer): boolean => {
        const s = d.toString('latin1');
        return re ? re.test(s) : s.length >= v.expect!.length;
      };
      // Vectors that expect the connection to stay open wait a little longer for stray bytes.
      const r = await rawExchange(port, bytes(v.send), done, v.closed ? 200 : 30);
      const got = r.data.toString('latin1');
      if (re) expect(got).to.match(re);
      else expect(got).to.equal(v.expect);
      expect(r.closed, 'connection closed').to.equal(v.closed);
    });
  }
});
