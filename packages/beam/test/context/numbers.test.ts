import { expect } from 'chai';
import { parseInt32, parseLong } from '../../src/context/numbers.js';

const B = (s: string): Buffer => Buffer.from(s);

describe('context: shared integer parsers', () => {
  it('parseInt32 accepts exactly the 32-bit range', () => {
    expect(parseInt32(B('2147483647'))).to.equal(2147483647);
    expect(parseInt32(B('-2147483648'))).to.equal(-2147483648);
    for (const bad of ['2147483648', '-2147483649', '1.0', ' 1', '', 'x', '9223372036854775808']) expect(parseInt32(B(bad)), bad).to.equal(null);
  });

  it('parseLong accepts int64 and returns a number', () => {
    expect(parseLong(B('-5'))).to.equal(-5);
    expect(parseLong(B('9223372036854775807'))).to.equal(Number(9223372036854775807n));
    for (const bad of ['9223372036854775808', '01', '+1', 'abc']) expect(parseLong(B(bad)), bad).to.equal(null);
  });
});
