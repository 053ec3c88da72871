import { expect } from 'chai';
import { MAX_32 } from '../src/index.js';

describe('beep package', () => {
  it('exports the wire constants', () => {
    expect(MAX_32).to.equal(2 ** 32 - 1);
  });
});
