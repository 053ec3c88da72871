import { expect } from 'chai';
import { GatewayRespError } from '../src/errors.js';
import { decodeCommands } from '../src/resp/resp-profile.js';
import { pubSubInfo, scanReply, splitReplies } from '../src/resp/reply-scanner.js';

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

  it('finds the end of every RESP2/RESP3 reply type, and waits for incomplete ones', () => {
    const replies = [
      '+OK\r\n', '-ERR x\r\n', ':12\r\n', '$-1\r\n', '$3\r\na\r\n\r\n', '*-1\r\n', '*2\r\n:1\r\n*1\r\n$1\r\nx\r\n',
      '_\r\n', '#t\r\n', ',1.5\r\n', '(12345678901234567890\r\n', '=7\r\ntxt:abc\r\n', '!3\r\nERR\r\n',
      '%1\r\n+k\r\n:1\r\n', '~2\r\n:1\r\n:2\r\n', '>3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n', '|1\r\n+a\r\n+b\r\n+OK\r\n',
    ];
    for (const r of replies) {
      const buf = b(r + '+NEXT\r\n');
      expect(scanReply(buf, 0), r).to.equal(r.length);
      for (let cut = 0; cut < r.length; cut++) expect(scanReply(b(r.slice(0, cut)), 0), `${r} cut ${cut}`).to.equal(-1);
    }
    const { replies: got, rest } = splitReplies(b(replies.join('') + '*2\r\n:1'));
    expect(got.map((x) => x.toString('latin1'))).to.deep.equal(replies);
    expect(rest.toString()).to.equal('*2\r\n:1');
    expect(() => scanReply(b('?x\r\n'), 0)).to.throw(GatewayRespError);
    expect(() => scanReply(b('$3\r\nabcde'), 0)).to.throw(GatewayRespError);
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
