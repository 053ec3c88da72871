import { Buffer } from 'node:buffer';
import { expect } from 'chai';
import { ARG_OVERHEAD, RequestDecoder } from '../../src/wire/request-decoder.js';

/** The decoder's memory: what a request costs beyond its wire bytes is bounded and accounted. */
describe('wire: request decoder memory', () => {
  it('shares one Buffer for every empty argument of a huge multibulk', () => {
    const n = 100_000;
    const d = new RequestDecoder();
    const out: Buffer[][] = [];
    const wire = Buffer.concat([Buffer.from(`*${n}\r\n`), Buffer.from('$0\r\n\r\n'.repeat(n))]);
    expect(d.feed(wire, out)).to.equal(undefined);
    expect(out).to.have.length(1);
    const argv = out[0]!;
    expect(argv).to.have.length(n);
    expect(new Set(argv).size).to.equal(1);
    // Accounted at a slot per argument: about the size of its 6 wire bytes, not 40 times it.
    expect(d.completedBytes).to.be.at.most(wire.length * 2);
  });

  it('does not keep the last request\'s arguments once it handed them out', () => {
    const d = new RequestDecoder();
    const out: Buffer[][] = [];
    d.feed(Buffer.from('*3\r\n$4\r\nRPUSH\r\n$1\r\nk\r\n$1\r\nv\r\n'.replace('$4\r\nRPUSH', '$5\r\nRPUSH')), out);
    expect(out).to.have.length(1);
    // The decoder used to hold its last argv until the next command: a million Buffers after a huge request.
    const held = (d as unknown as { argv: Buffer[] }).argv;
    expect(held).to.not.equal(out[0]);
    expect(held).to.have.length(0);
  });

  it('counts the decoded arguments of an unfinished multibulk against maxQueryBuffer', () => {
    const d = new RequestDecoder({ maxQueryBuffer: 1024 * 1024 });
    const out: Buffer[][] = [];
    expect(d.feed(Buffer.from('*1000000\r\n'), out)).to.equal(undefined);
    // 10,000 one-byte arguments: 70 KB on the wire, over 1 MiB in objects.
    const e = d.feed(Buffer.from('$1\r\na\r\n'.repeat(10_000)), out);
    expect(e?.code).to.equal('query-buffer-limit');
    expect(d.bufferedBytes).to.equal(0);
  });

  it('charges each argument its object overhead and moves the cost to completedBytes', () => {
    const d = new RequestDecoder();
    const out: Buffer[][] = [];
    d.feed(Buffer.from('*3\r\n$3\r\nSET\r\n$1\r\nk\r\n'), out);
    expect(d.bufferedBytes).to.equal(3 + 1 + 2 * ARG_OVERHEAD);
    d.feed(Buffer.from('$2\r\nvv\r\n'), out);
    expect(out).to.have.length(1);
    expect(d.bufferedBytes).to.equal(0);
    expect(d.completedBytes).to.equal(6 + 3 * ARG_OVERHEAD);
    d.executed();
    expect(d.heldBytes).to.equal(0);
  });

  it('assembles a big bulk sent in many pieces into one exact Buffer', () => {
    const d = new RequestDecoder();
    const out: Buffer[][] = [];
    const len = 300_000;
    const data = Buffer.alloc(len);
    for (let i = 0; i < len; i++) data[i] = i % 251;
    d.feed(Buffer.from(`*2\r\n$3\r\nSET\r\n$${len}\r\n`), out);
    for (let off = 0; off < len; off += 7000) {
      d.feed(data.subarray(off, Math.min(len, off + 7000)), out);
      // Before half of it arrived, only what arrived is held; after, the whole argument.
      expect(d.bufferedBytes).to.be.at.most(Math.max(2 * Math.min(len, off + 7000), len) + 3 + ARG_OVERHEAD);
    }
    d.feed(Buffer.from('\r\n'), out);
    expect(out).to.have.length(1);
    expect(out[0]![1]!.equals(data)).to.equal(true);
    expect(out[0]![1]!.buffer.byteLength).to.equal(len);
  });
});
