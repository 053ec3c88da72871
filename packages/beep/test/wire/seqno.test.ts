import { expect } from 'chai';
import { edgeMovesLeft, fitsWindow, rightEdge, seqAdd, seqDistance, seqLessThan, windowRemaining } from '../../src/wire/seqno.js';
import { MAX_32 } from '../../src/wire/frame.js';

describe('wire: seqno arithmetic', () => {
  it('adds and measures modulo 2^32', () => {
    expect(seqAdd(MAX_32 - 5, 6)).to.equal(0);
    expect(seqAdd(MAX_32, 1)).to.equal(0);
    expect(seqAdd(MAX_32 - 1, 1)).to.equal(MAX_32);
    expect(seqAdd(10, 2147483647)).to.equal(2147483657);
    expect(seqDistance(MAX_32 - 1, 3)).to.equal(5);
    expect(seqDistance(3, 3)).to.equal(0);
    expect(seqLessThan(MAX_32, 0)).to.equal(true);
    expect(seqLessThan(0, MAX_32)).to.equal(false);
    expect(seqLessThan(5, 5)).to.equal(false);
  });

  it('checks frames against a window across the wrap', () => {
    // ackno just before the wrap, window 4096: a frame ending exactly on 4294967295 fits, one more octet does not.
    const ackno = MAX_32 - 4095;
    expect(fitsWindow(ackno, 4096, ackno, 4096)).to.equal(true);
    expect(fitsWindow(ackno, 4097, ackno, 4096)).to.equal(false);
    expect(fitsWindow(0, 10, MAX_32 - 9, 20)).to.equal(true);
    expect(fitsWindow(0, 11, MAX_32 - 9, 20)).to.equal(false);
    expect(fitsWindow(ackno - 1, 1, ackno, 4096)).to.equal(false);
    expect(windowRemaining(5, MAX_32 - 4, 100)).to.equal(90);
    expect(windowRemaining(500, 0, 100)).to.equal(0);
    expect(rightEdge(MAX_32, 4096)).to.equal(4095);
    expect(edgeMovesLeft(4095, 4094)).to.equal(true);
    expect(edgeMovesLeft(MAX_32, 3)).to.equal(false);
  });
});
