import { expect } from 'chai';
import { encodeFrame, parseFrame } from '../../src/jobs/frames.js';
import { IdSet } from '../../src/jobs/id-set.js';
import { parseJobKey } from '../../src/jobs/keys.js';
import { parseSignal } from '../../src/jobs/signals.js';

describe('jobs: small parts', () => {
  it('IdSet keeps in-order ids as one range and answers membership exactly', () => {
    const s = new IdSet();
    for (let i = 0; i < 1000; i++) s.add(i);
    expect(s.rangeCount).to.equal(1);
    expect(s.has(999)).to.equal(true);
    expect(s.has(1000)).to.equal(false);
    s.add(1002);
    s.add(1004);
    expect(s.rangeCount).to.equal(3);
    s.add(1003);
    expect(s.rangeCount).to.equal(2);
    s.add(1001);
    s.add(1000);
    expect(s.rangeCount).to.equal(1);
    // against a plain Set with random ids
    const ref = new Set<number>();
    const t = new IdSet();
    for (let i = 0; i < 2000; i++) {
      const id = Math.floor(Math.random() * 500);
      ref.add(id);
      t.add(id);
    }
    for (let id = 0; id < 520; id++) expect(t.has(id), String(id)).to.equal(ref.has(id));
  });

  it('parses and encodes frames', () => {
    expect(parseFrame(Buffer.from('0:abc'), 255)).to.deep.equal({ stream: 0, data: Buffer.from('abc') });
    expect(parseFrame(Buffer.from('12:'), 255)).to.deep.equal({ stream: 12, data: null });
    expect(parseFrame(Buffer.from('1:a:b'), 255)?.data?.toString()).to.equal('a:b');
    for (const bad of ['', ':x', 'x:1', '01:x', '256:x', '1234567:x', 'abc']) expect(parseFrame(Buffer.from(bad), 255), bad).to.equal(undefined);
    expect(encodeFrame(2, Buffer.from('e')).toString()).to.equal('2:e');
    expect(encodeFrame(1, null).toString()).to.equal('1:');
    expect(encodeFrame(1, Buffer.alloc(0)).toString()).to.equal('1:');
  });

  it('classifies job keys', () => {
    expect(parseJobKey('/jobs')).to.deep.equal({ kind: 'jobs' });
    expect(parseJobKey('/jobs/0')).to.deep.equal({ kind: 'start', id: 0 });
    expect(parseJobKey('/jobs/42/out')).to.deep.equal({ kind: 'out', id: 42 });
    expect(parseJobKey('/jobs/42/signal')).to.deep.equal({ kind: 'signal', id: 42 });
    for (const k of ['/jobs/', '/jobs/01', '/jobs/-1', '/jobs/1/x', '/jobs/1/out/2', '/jobs/99999999999999999']) expect(parseJobKey(k), k).to.deep.equal({ kind: 'invalid' });
    expect(parseJobKey('/jobsx')).to.equal(undefined);
    expect(parseJobKey('other')).to.equal(undefined);
  });

  it('parses signal names', () => {
    expect(parseSignal('TERM')).to.equal('TERM');
    expect(parseSignal('sigkill')).to.equal('KILL');
    expect(parseSignal('2')).to.equal('INT');
    expect(parseSignal('STOP')).to.equal(undefined);
    expect(parseSignal('99')).to.equal(undefined);
  });
});
