import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import { ReplicationError } from '../../src/sync/errors.js';
import { ReplicationFeed } from '../../src/sync/propagation.js';
import { encodeCommand } from '../../src/wire/command-encoder.js';
import { parseRdb } from '../../src/sync/rdb-reader.js';
import { ReplicaLink, DEFAULT_REPLICA_OUTPUT_LIMIT, type ReplicaLinkOptions } from '../../src/sync/replica-link.js';
import { captureSnapshot } from '../../src/sync/snapshot.js';
import { MiniKeyspace, canonOf, canonOfKeyspace, plain } from './helpers.js';

class FakeSink extends EventEmitter {
  chunks: Buffer[] = [];
  writableLength = 0;
  /** When set, write() reports back-pressure and keeps the bytes counted in writableLength. */
  stalled = false;
  destroyed: { error: Error | undefined } | null = null;
  ended = false;

  write(chunk: Buffer): boolean {
    this.chunks.push(Buffer.from(chunk));
    if (this.stalled) this.writableLength += chunk.length;
    return !this.stalled;
  }
  destroy(error?: Error): void {
    this.destroyed = { error };
  }
  end(): void {
    this.ended = true;
  }
  get text(): string {
    return Buffer.concat(this.chunks).toString('latin1');
  }
  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

const argv = (...a: string[]): Buffer[] => a.map((x) => Buffer.from(x, 'latin1'));
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 2000 && !cond(); i++) await tick();
  if (!cond()) throw new Error(`never: ${what}`);
}

function setup(extra: Partial<ReplicaLinkOptions> = {}): { ks: MiniKeyspace; feed: ReplicationFeed; sink: FakeSink; link: ReplicaLink; write: (db: number, a: string[]) => void } {
  const ks = new MiniKeyspace();
  for (let i = 0; i < 20; i++) ks.apply(i % 2, ['RPUSH', `l${i}`, 'a', 'b']);
  ks.apply(3, ['SET', 'k', 'v']);
  const feed = new ReplicationFeed({ pingPeriodMs: 0 });
  const sink = new FakeSink();
  const link = new ReplicaLink({ sink, feed, takeSnapshot: () => captureSnapshot(ks), rdb: { yieldEveryKeys: 2 }, ...extra });
  const write = (db: number, a: string[]): void => feed.propagate(ks.apply(db, a));
  return { ks, feed, sink, link, write };
}

describe('sync/replica-link (sans IO)', () => {
  it('answers the REPLCONF handshake and leaves other commands to the server', () => {
    const { link, sink } = setup();
    expect(link.handleCommand(argv('PING'))).to.equal(false);
    expect(link.handleCommand(argv('REPLCONF', 'listening-port', '6380'))).to.equal(true);
    expect(link.handleCommand(argv('replconf', 'capa', 'eof', 'capa', 'psync2'))).to.equal(true);
    link.handleCommand(argv('REPLCONF', 'ip-address', '10.0.0.1'));
    link.handleCommand(argv('REPLCONF', 'listening-port', 'x'));
    link.handleCommand(argv('REPLCONF', 'bogus', '1'));
    link.handleCommand(argv('REPLCONF', 'capa'));
    link.handleCommand(argv('PSYNC', '?'));
    expect(sink.text).to.equal(
      '+OK\r\n+OK\r\n+OK\r\n-ERR value is not an integer or out of range\r\n-ERR Unrecognized REPLCONF option: bogus\r\n' +
        "-ERR syntax error\r\n-ERR wrong number of arguments for 'psync' command\r\n",
    );
    expect(link.listeningPort).to.equal(6380);
    expect(link.ipAddress).to.equal('10.0.0.1');
    expect([...link.capabilities]).to.deep.equal(['eof', 'psync2']);
    expect(link.state).to.equal('handshake');
  });

  it('full resync without capa eof: +FULLRESYNC, $<len> RDB of the capture, then the writes made meanwhile', async () => {
    const { ks, feed, sink, link, write } = setup();
    const atCapture = plain(canonOfKeyspace(ks));
    link.handleCommand(argv('PSYNC', '?', '-1'));
    expect(link.state).to.equal('transfer');
    expect(link.syncKind).to.equal('full');
    const offset = feed.offset;
    write(0, ['RPUSH', 'l0', 'during']); // mutates a container the snapshot has not written yet
    write(5, ['SET', 'new', '1']);
    await until(() => link.state === 'online', 'online');
    write(5, ['DEL', 'new']);
    const out = sink.bytes;
    const head = `+FULLRESYNC ${feed.replId} ${offset}\r\n`;
    expect(out.subarray(0, head.length).toString('latin1')).to.equal(head);
    let p = head.length;
    while (out[p] === 0x0a) p++; // keep-alive newlines
    const eol = out.indexOf('\r\n', p);
    expect(out.subarray(p, p + 1).toString()).to.equal('$');
    const len = Number(out.subarray(p + 1, eol).toString());
    const rdb = out.subarray(eol + 2, eol + 2 + len);
    const file = parseRdb(rdb);
    expect(file.aux.get('repl-id')?.toString()).to.equal(feed.replId);
    expect(file.aux.get('repl-offset')?.toString()).to.equal(String(offset));
    expect(plain(canonOf(file.entries))).to.deep.equal(atCapture);
    const stream = out.subarray(eol + 2 + len).toString('latin1');
    expect(stream).to.equal(
      [['SELECT', '0'], ['RPUSH', 'l0', 'during'], ['SELECT', '5'], ['SET', 'new', '1'], ['DEL', 'new']]
        .map((c) => encodeCommand(c).toString('latin1'))
        .join(''),
    );
    expect(feed.offset - offset).to.equal(Buffer.byteLength(stream, 'latin1'));
    link.close();
    expect(ks.hookListeners).to.equal(0);
  });

  it('full resync with capa eof: $EOF:<mark> framing, stream held back until the first REPLCONF ACK', async () => {
    const { feed, sink, link, write } = setup();
    link.handleCommand(argv('REPLCONF', 'capa', 'eof'));
    link.handleCommand(argv('PSYNC', 'deadbeef', '100'));
    write(1, ['RPUSH', 'l1', 'x']);
    await until(() => link.state === 'wait-ack', 'wait-ack');
    write(1, ['RPUSH', 'l1', 'y']);
    const text = sink.text;
    const m = /^\+OK\r\n\+FULLRESYNC ([0-9a-f]{40}) (\d+)\r\n\$EOF:([0-9a-f]{40})\r\n/.exec(text);
    expect(m, text.slice(0, 120)).to.not.equal(null);
    expect(m![1]).to.equal(feed.replId);
    const mark = m![3]!;
    expect(text.endsWith(mark)).to.equal(true);
    const rdb = sink.bytes.subarray(m![0].length, sink.bytes.length - 40);
    expect(parseRdb(rdb).entries.length).to.equal(21);
    const before = sink.chunks.length;
    link.handleCommand(argv('REPLCONF', 'ACK', m![2]!));
    expect(link.state).to.equal('online');
    expect(link.ackOffset).to.equal(Number(m![2]));
    expect(Buffer.concat(sink.chunks.slice(before)).toString('latin1')).to.equal(
      [['SELECT', '1'], ['RPUSH', 'l1', 'x'], ['RPUSH', 'l1', 'y']].map((c) => encodeCommand(c).toString('latin1')).join(''),
    );
    link.close();
  });

  it('old SYNC gets the bare RDB; rdb-only clients are ended after it', async () => {
    const { sink, link } = setup();
    link.handleCommand(argv('REPLCONF', 'rdb-only', '1'));
    link.handleCommand(argv('SYNC'));
    await until(() => link.state === 'closed', 'closed');
    expect(sink.ended).to.equal(true);
    expect(sink.destroyed).to.equal(null);
    const text = sink.text.replace(/^\+OK\r\n\n*/, '');
    expect(text.startsWith('$')).to.equal(true);
    const eol = text.indexOf('\r\n');
    expect(parseRdb(sink.bytes.subarray(sink.bytes.length - Number(text.slice(1, eol)))).entries).to.have.length(21);
  });

  it('PSYNC with our replid and an offset in the backlog continues from it; anything else resyncs fully', async () => {
    const { feed, link, write } = setup();
    link.handleCommand(argv('PSYNC', '?', '-1'));
    await until(() => link.state === 'online', 'online');
    write(0, ['SET', 'a', '1']);
    const resumeAt = feed.offset + 1;
    write(2, ['SET', 'b', '2']);
    write(2, ['SET', 'c', '3']);
    link.close();

    const again = new FakeSink();
    const link2 = new ReplicaLink({ sink: again, feed, takeSnapshot: () => { throw new Error('must not snapshot'); } });
    link2.handleCommand(argv('REPLCONF', 'capa', 'psync2'));
    link2.handleCommand(argv('PSYNC', feed.replId, String(resumeAt)));
    expect(link2.syncKind).to.equal('partial');
    expect(link2.state).to.equal('online');
    write(2, ['SET', 'd', '4']);
    expect(again.text).to.equal(
      `+OK\r\n+CONTINUE ${feed.replId}\r\n` +
        [['SELECT', '2'], ['SET', 'b', '2'], ['SET', 'c', '3'], ['SET', 'd', '4']].map((c) => encodeCommand(c).toString('latin1')).join(''),
    );
    link2.close();

    for (const [id, off] of [[feed.replId, String(feed.offset + 2)], ['0'.repeat(40), String(resumeAt)], [feed.replId, 'x']]) {
      const s = new FakeSink();
      const l = new ReplicaLink({ sink: s, feed, takeSnapshot: () => captureSnapshot(new MiniKeyspace()) });
      l.handleCommand(argv('PSYNC', id!, off!));
      expect(l.syncKind, `${id} ${off}`).to.equal('full');
      l.close();
    }
  });

  it('drops a replica whose output passes the hard limit, or the soft limit for long enough', async () => {
    const { sink, link, write } = setup({ outputLimit: { hard: 2000, soft: 500, softSeconds: 60 } });
    link.handleCommand(argv('PSYNC', '?', '-1'));
    await until(() => link.state === 'online', 'online');
    sink.stalled = true;
    const closed = new Promise<unknown>((r) => link.once('close', r));
    for (let i = 0; i < 100 && link.state !== 'closed'; i++) write(0, ['SET', 'k', 'x'.repeat(100)]);
    const err = await closed;
    expect(err).to.be.instanceOf(ReplicationError);
    expect((err as ReplicationError).code).to.equal('REPL_OUTPUT_LIMIT');
    expect(sink.destroyed?.error).to.equal(err);

    let now = 0;
    const soft = setup({ outputLimit: { hard: 1e9, soft: 500, softSeconds: 60 }, now: () => now });
    soft.link.handleCommand(argv('PSYNC', '?', '-1'));
    await until(() => soft.link.state === 'online', 'online');
    soft.sink.stalled = true;
    for (let i = 0; i < 10; i++) soft.write(0, ['SET', 'k', 'x'.repeat(100)]);
    now = 59_000;
    soft.write(0, ['SET', 'k', 'y']);
    expect(soft.link.state).to.equal('online');
    now = 60_500;
    soft.write(0, ['SET', 'k', 'z']);
    expect(soft.link.state).to.equal('closed');
    expect(DEFAULT_REPLICA_OUTPUT_LIMIT).to.deep.equal({ hard: 256 * 1024 * 1024, soft: 64 * 1024 * 1024, softSeconds: 60 });
  });

  it('times out a replica that never ACKs an EOF-framed RDB, or stops ACKing once online (repl-timeout)', async () => {
    let now = 1_000_000;
    const a = setup({ replTimeoutMs: 60_000, now: () => now });
    a.link.handleCommand(argv('REPLCONF', 'capa', 'eof'));
    a.link.handleCommand(argv('PSYNC', '?', '-1'));
    await until(() => a.link.state === 'wait-ack', 'wait-ack');
    now += 59_000;
    a.link.checkTimeouts();
    expect(a.link.state).to.equal('wait-ack');
    now += 2_000;
    a.link.checkTimeouts();
    expect(a.link.state).to.equal('closed');
    expect((a.sink.destroyed?.error as ReplicationError).code).to.equal('REPL_TIMEOUT');

    const b = setup({ replTimeoutMs: 60_000, now: () => now });
    b.link.handleCommand(argv('PSYNC', '?', '-1'));
    await until(() => b.link.state === 'online', 'online');
    now += 120_000;
    b.link.checkTimeouts(); // never ACKed (pre-PSYNC style replica): exempt, as in Redis
    expect(b.link.state).to.equal('online');
    b.link.handleCommand(argv('REPLCONF', 'ACK', '0'));
    now += 30_000;
    b.link.checkTimeouts();
    expect(b.link.state).to.equal('online');
    now += 31_000;
    b.link.checkTimeouts();
    expect(b.link.state).to.equal('closed');
  });

  it('waits for drain while sending a large RDB and stops cleanly when closed mid-transfer', async () => {
    const { ks, sink, link } = setup();
    for (let i = 0; i < 50; i++) ks.apply(4, ['SET', `big${i}`, 'z'.repeat(70_000)]);
    sink.stalled = true;
    link.handleCommand(argv('REPLCONF', 'capa', 'eof'));
    link.handleCommand(argv('PSYNC', '?', '-1'));
    for (let i = 0; i < 20; i++) await tick();
    const sent = sink.chunks.length;
    expect(link.state).to.equal('transfer');
    expect(sink.listenerCount('drain')).to.equal(1);
    sink.stalled = false;
    sink.writableLength = 0;
    sink.emit('drain');
    for (let i = 0; i < 5; i++) await tick();
    expect(sink.chunks.length).to.be.greaterThan(sent);
    link.close();
    for (let i = 0; i < 5; i++) await tick();
    expect(sink.listenerCount('drain')).to.equal(0);
    expect(ks.hookListeners).to.equal(0);
  });
});
