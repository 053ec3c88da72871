import { expect } from 'chai';
import { encodeCommand } from '../../src/wire/command-encoder.js';
import { ReplicationStreamReader } from '../../src/sync/stream-reader.js';
import { ReplicationError } from '../../src/sync/errors.js';

describe('sync/stream-reader', () => {
  const cmds = [['SELECT', '3'], ['SET', 'k', 'v'.repeat(70_000)], ['RPUSH', 'l', '', 'a\r\nb'], ['PING']];
  const stream = Buffer.concat([Buffer.from('\n'), ...cmds.map((c) => encodeCommand(c))]);

  it('returns whole commands with their byte counts, however the stream is split', () => {
    for (const step of [1, 7, 4096, stream.length]) {
      const r = new ReplicationStreamReader();
      const got: string[][] = [];
      let bytes = 0;
      for (let i = 0; i < stream.length; i += step) {
        for (const c of r.push(stream.subarray(i, i + step))) {
          bytes += c.bytes;
          if (c.argv.length > 0) got.push(c.argv.map(String));
        }
      }
      expect(got, `step ${step}`).to.deep.equal(cmds);
      expect(bytes).to.equal(stream.length);
      expect(r.buffered).to.equal(0);
    }
  });

  it('refuses malformed input with REPL_PROTOCOL and bounds bulk lengths', () => {
    for (const bad of ['+OK\r\n', '*1\r\n:1\r\n', '*x\r\n', '*1\r\n$-5\r\n']) {
      expect(() => new ReplicationStreamReader().push(Buffer.from(bad))).to.throw(ReplicationError).with.property('code', 'REPL_PROTOCOL');
    }
    expect(() => new ReplicationStreamReader({ maxBulk: 10 }).push(Buffer.from('*1\r\n$11\r\n'))).to.throw(/bulk length/);
  });
});
