import { expect } from 'chai';
import { ReplicationBacklog, randomReplId } from '../../src/sync/backlog.js';
import { ReplicationFeed } from '../../src/sync/propagation.js';
import { encodeCommand } from '../../src/wire/command-encoder.js';
import { waitFor } from './helpers.js';
import { ReplicationError } from '../../src/sync/errors.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

describe('sync/backlog', () => {
  it('makes 40-hex replication ids', () => {
    const id = randomReplId();
    expect(id).to.match(/^[0-9a-f]{40}$/);
    expect(randomReplId()).to.not.equal(id);
  });

  it('serves any offset inside the history, including the next byte', () => {
    const bl = new ReplicationBacklog({ size: 16, replId: 'x'.repeat(40) });
    expect(bl.canServe(1)).to.equal(true); // empty: only "from the next byte"
    expect(bl.readFrom(1).length).to.equal(0);
    bl.append(b('hello'));
    expect(bl.offset).to.equal(5);
    expect(bl.canServe(1)).to.equal(true);
    expect(bl.readFrom(1).toString()).to.equal('hello');
    expect(bl.readFrom(3).toString()).to.equal('llo');
    expect(bl.readFrom(6).toString()).to.equal('');
    expect(bl.canServe(7)).to.equal(false);
    expect(bl.canServe(0)).to.equal(false);
  });

  it('wraps around and forgets the oldest bytes', () => {
    const bl = new ReplicationBacklog({ size: 10 });
    let all = '';
    for (let i = 0; i < 7; i++) {
      const chunk = `${i}abc`.slice(0, 1 + (i % 4));
      bl.append(b(chunk));
      all += chunk;
    }
    expect(bl.offset).to.equal(all.length);
    expect(bl.historyLength).to.equal(10);
    expect(bl.firstOffset).to.equal(all.length - 9);
    expect(bl.readFrom(bl.firstOffset).toString()).to.equal(all.slice(-10));
    for (let off = bl.firstOffset; off <= bl.offset + 1; off++) {
      expect(bl.readFrom(off).toString()).to.equal(all.slice(off - 1));
    }
    expect(bl.canServe(bl.firstOffset - 1)).to.equal(false);
    expect(() => bl.readFrom(bl.firstOffset - 1)).to.throw(ReplicationError).with.property('code', 'REPL_OFFSET_NOT_IN_BACKLOG');
  });

  it('keeps only the tail of a write larger than the buffer', () => {
    const bl = new ReplicationBacklog({ size: 4, offset: 100 });
    bl.append(b('ab'));
    bl.append(b('0123456789'));
    expect(bl.offset).to.equal(112);
    expect(bl.readFrom(109).toString()).to.equal('6789');
    bl.append(b('xy'));
    expect(bl.readFrom(111).toString()).to.equal('89xy');
  });

  it('reset() starts a new history with a new id', () => {
    const bl = new ReplicationBacklog({ size: 8 });
    bl.append(b('abc'));
    const old = bl.replId;
    bl.reset();
    expect(bl.replId).to.not.equal(old);
    expect(bl.canServe(2)).to.equal(false);
    expect(bl.canServe(4)).to.equal(true);
  });
});

describe('sync/propagation', () => {
  it('encodes commands as RESP arrays of bulk strings (binary safe)', () => {
    expect(encodeCommand([b('SET'), b('k'), Buffer.from([0, 0xff, 13, 10])]).toString('latin1')).to.equal(
      '*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\n\u0000\u00ff\r\n\r\n',
    );
  });

  it('is idle until activated, then emits SELECT on db changes and fills the backlog', () => {
    const feed = new ReplicationFeed({ pingPeriodMs: 0 });
    const seen: Buffer[] = [];
    feed.propagate({ db: 0, argv: [b('SET'), b('a'), b('1')] });
    expect(feed.offset).to.equal(0);
    feed.activate();
    const unsubscribe = feed.subscribe((x) => seen.push(x));
    feed.propagate({ db: 0, argv: [b('SET'), b('a'), b('1')] });
    feed.propagate({ db: 0, argv: [b('DEL'), b('a')] });
    feed.propagate({ db: 5, argv: [b('RPUSH'), b('l'), b('x')] });
    feed.ping();
    feed.forceSelect();
    feed.propagate({ db: 5, argv: [b('DEL'), b('l')] });
    const stream = Buffer.concat(seen).toString('latin1');
    expect(stream).to.equal(
      [
        encodeCommand(['SELECT', '0']),
        encodeCommand(['SET', 'a', '1']),
        encodeCommand(['DEL', 'a']),
        encodeCommand(['SELECT', '5']),
        encodeCommand(['RPUSH', 'l', 'x']),
        encodeCommand(['PING']),
        encodeCommand(['SELECT', '5']),
        encodeCommand(['DEL', 'l']),
      ]
        .map((x) => x.toString('latin1'))
        .join(''),
    );
    expect(feed.offset).to.equal(stream.length);
    expect(feed.backlog.readFrom(1).toString('latin1')).to.equal(stream);
    unsubscribe();
    expect(feed.subscriberCount).to.equal(0);
  });

  it('pings subscribers periodically', async () => {
    const feed = new ReplicationFeed({ pingPeriodMs: 20 });
    feed.activate();
    const seen: string[] = [];
    const unsubscribe = feed.subscribe((x) => seen.push(x.toString('latin1')));
    await waitFor('two pings', async () => seen.length >= 2);
    unsubscribe();
    expect(new Set(seen)).to.deep.equal(new Set([encodeCommand(['PING']).toString('latin1')]));
    feed.close();
  });
});
