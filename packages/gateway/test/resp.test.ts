import { expect } from 'chai';
import { GatewayRespError } from '../src/errors.js';
import { decodeCommands } from '../src/resp/resp-profile.js';
import { pubSubInfo } from '../src/backend/pubsub-info.js';

const b = (s: string) => Buffer.from(s, 'latin1');
const limits = { maxRespMessage: 1024, maxRespArgs: 8 };

describe('gateway RESP helpers', () => {
  it('decodes pipelined multibulk and inline commands', () => {
    const cmds = decodeCommands(b('*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\nSET a "b c"\r\n'), limits);
    expect(cmds.map((c) => c.map(String))).to.deep.equal([['GET', 'k'], ['PING'], ['SET', 'a', 'b c']]);
    expect(decodeCommands(b(''), limits)).to.deep.equal([]);
  });

  it('refuses incomplete, malformed and oversized bodies with 501', () => {
    for (const bad of ['*2\r\n$3\r\nGET\r\n', '*1\r\n$x\r\n', 'GET k']) {
      expect(() => decodeCommands(b(bad), limits), JSON.stringify(bad)).to.throw(GatewayRespError).with.property('replyCode', 501);
    }
    expect(() => decodeCommands(b('x'.repeat(2000)), limits)).to.throw(GatewayRespError, /exceeds/);
    expect(() => decodeCommands(b('*9\r\n'), limits)).to.throw(GatewayRespError);
  });

  it('reads pub/sub kinds and counts', () => {
    expect(pubSubInfo(b('*3\r\n$9\r\nsubscribe\r\n$1\r\nc\r\n:2\r\n'))).to.deep.equal({ kind: 'subscribe', count: 2 });
    expect(pubSubInfo(b('>3\r\n$11\r\nunsubscribe\r\n$1\r\nc\r\n:0\r\n'))).to.deep.equal({ kind: 'unsubscribe', count: 0 });
    expect(pubSubInfo(b('*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n'))).to.deep.equal({ kind: 'message' });
    expect(pubSubInfo(b('*2\r\n$4\r\npong\r\n$0\r\n\r\n'))).to.deep.equal({ kind: 'pong' });
    expect(pubSubInfo(b('+OK\r\n'))).to.equal(undefined);
    expect(pubSubInfo(b('*1\r\n:1\r\n'))).to.equal(undefined);
  });
});
