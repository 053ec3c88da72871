import { expect } from 'chai';
import { RequestDecoder } from '../../src/wire/request-decoder.js';
import { RespWriter, encodeReply } from '../../src/wire/resp-encoder.js';
import { OK } from '../../src/wire/reply.js';
import { keyString } from '../../src/context/store.js';
import { Context } from '../../src/context/context.js';
import { Dispatcher } from '../../src/context/dispatch.js';
import type { KeyspaceEvent } from '../../src/context/api.js';

// The server's per-command fast paths (see docs/performance.md, "Beam"): each must give the same
// results as the general code it short-cuts.

function decodeAll(input: Buffer, chunkSize: number): string[][] {
  const d = new RequestDecoder();
  const out: Buffer[][] = [];
  for (let i = 0; i < input.length; i += chunkSize) {
    const e = d.feed(input.subarray(i, i + chunkSize), out);
    if (e) throw e;
  }
  return out.map((a) => a.map((b) => b.toString('latin1')));
}

describe('hot path: RequestDecoder', () => {
  const cmd = (...args: string[]): string => `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a, 'latin1')}\r\n${a}\r\n`).join('')}`;

  it('decodes the same commands whatever the chunking (quick count lines, split lines)', () => {
    const long = 'v'.repeat(1234567 % 5000);
    const text = cmd('SET', 'key:1', 'abc') + cmd('GET', 'key:1') + cmd('SET', 'k', long) + cmd('set', '', '0')
      + cmd(...Array.from({ length: 20 }, (_, i) => `a${i}`));
    const input = Buffer.from(text, 'latin1');
    const whole = decodeAll(input, input.length);
    expect(whole).to.have.length(5);
    expect(whole[2]![2]).to.equal(long);
    expect(whole[3]).to.deep.equal(['set', '', '0']);
    expect(whole[4]).to.have.length(20);
    for (const size of [1, 2, 3, 7, 64]) expect(decodeAll(input, size), `chunks of ${size}`).to.deep.equal(whole);
  });

  it('hands out the same Buffer for a repeated command name, a new one when the name changes', () => {
    const d = new RequestDecoder();
    const out: Buffer[][] = [];
    d.feed(Buffer.from(cmd('SET', 'a', '1') + cmd('SET', 'b', '2') + cmd('GET', 'a') + cmd('SET', 'c', '3')), out);
    expect(out.map((a) => a[0]!.toString())).to.deep.equal(['SET', 'SET', 'GET', 'SET']);
    expect(out[1]![0]).to.equal(out[0]![0]);
    expect(out[2]![0]).to.not.equal(out[0]![0]);
    // Arguments other than the name are always fresh copies.
    expect(out[1]![1]).to.not.equal(out[0]![1]);
  });

  it('still rejects bad count lines that the quick path leaves to the strict parser', () => {
    for (const [input, msg] of [
      ['*1\r\n$01\r\nx\r\n', 'invalid bulk length'],
      ['*1\r\n$-1\r\n', 'invalid bulk length'],
      ['*1\r\n$1x\r\nx\r\n', 'invalid bulk length'],
      ['*1x\r\n', 'invalid multibulk length'],
      ['*1\r\n+1\r\n', "expected '$'"],
    ] as const) {
      const e = new RequestDecoder().feed(Buffer.from(input), []);
      expect(e?.message, input).to.include(msg);
    }
    const small = new RequestDecoder({ maxBulkLength: 10 }).feed(Buffer.from('*1\r\n$11\r\n'), []);
    expect(small?.message).to.include('invalid bulk length');
  });
});

describe('hot path: RespWriter', () => {
  it('writes integers and counts digit by digit like the text form', () => {
    for (const n of [0, 7, 1023, 1024, 65536, 2 ** 31, 2 ** 53 - 1, -1, -1024, -(2 ** 53 - 1)]) {
      expect(encodeReply(n, 2).toString()).to.equal(`:${n}\r\n`);
    }
    expect(encodeReply(new Array(2000).fill(1), 2).subarray(0, 7).toString()).to.equal('*2000\r\n');
    const big = Buffer.alloc(3000, 0x61);
    expect(encodeReply(big, 2).subarray(0, 7).toString()).to.equal('$3000\r\n');
    expect(encodeReply([Buffer.from('short'), big.subarray(0, 65), big.subarray(0, 64)], 2).length).to.equal(4 + 11 + 72 + 71);
  });

  it('view() and release(): a reused buffer starts over, a released-as-busy view stays intact', () => {
    const w = new RespWriter(64);
    w.write(Buffer.from('hello'), 2);
    const first = w.view();
    expect(first.toString()).to.equal('$5\r\nhello\r\n');
    w.release(false);
    w.write(OK, 2);
    expect(first.toString()).to.equal('$5\r\nhello\r\n');
    expect(w.view().toString()).to.equal('+OK\r\n');
    w.release(true);
    expect(w.length).to.equal(0);
    w.write(7, 2);
    expect(w.take().toString()).to.equal(':7\r\n');
  });
});

describe('hot path: keys and dispatch', () => {
  it('keyString equals toString("latin1") for every length and byte value', () => {
    for (let len = 0; len <= 40; len++) {
      const b = Buffer.alloc(len);
      for (let i = 0; i < len; i++) b[i] = (i * 37 + len * 11) & 0xff;
      expect(keyString(b)).to.equal(b.toString('latin1'));
    }
  });

  it('looks commands up by bytes in any case, and after register/unregister', () => {
    const ctx = new Context({ activeExpireInterval: 0 });
    const d = new Dispatcher({ context: ctx });
    try {
      const c = d.createClient();
      expect(d.lookup(Buffer.from('sEt'))?.name).to.equal('set');
      expect(d.lookup('GET')?.name).to.equal('get');
      expect(d.lookup(Buffer.from('nosuch'))).to.equal(undefined);
      expect(d.dispatch(c, [Buffer.from('SeT'), Buffer.from('k'), Buffer.from('v')])).to.equal(OK);
      expect(String(d.dispatch(c, [Buffer.from('GET'), Buffer.from('k')]))).to.equal('v');
      d.register({ name: 'Hello2', arity: 1, flags: [], firstKey: 0, lastKey: 0, step: 0, handler: () => 42 });
      expect(d.dispatch(c, [Buffer.from('HELLO2')])).to.equal(42);
      d.unregister('hello2');
      const r = d.dispatch(c, [Buffer.from('hello2')]);
      expect(String((r as { message?: string }).message)).to.match(/^ERR unknown command 'hello2'/);
    } finally {
      d.close();
      ctx.close();
    }
  });

  it('delivers keyspace events to listeners added and removed at any time, in order', () => {
    const ctx = new Context({ activeExpireInterval: 0 });
    const c = ctx.createInternalClient();
    const seen: string[] = [];
    const a = (e: KeyspaceEvent): void => void seen.push(`a:${e.event}:${e.key.toString()}`);
    const b = (e: KeyspaceEvent): void => void seen.push(`b:${e.event}`);
    try {
      ctx.call(c, ['SET', 'x', '1'].map((s) => Buffer.from(s)));
      ctx.on('keyspace', a);
      ctx.call(c, ['SET', 'x', '2'].map((s) => Buffer.from(s)));
      ctx.once('keyspace', b);
      ctx.call(c, ['RPUSH', 'l', '1', '2'].map((s) => Buffer.from(s)));
      ctx.call(c, ['DEL', 'x'].map((s) => Buffer.from(s)));
      ctx.off('keyspace', a);
      ctx.call(c, ['SET', 'y', '1'].map((s) => Buffer.from(s)));
      expect(seen).to.deep.equal(['a:set:x', 'a:rpush:l', 'b:rpush', 'a:del:x']);
    } finally {
      ctx.close();
    }
  });
});
