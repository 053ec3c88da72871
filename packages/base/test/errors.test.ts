import { expect } from 'chai';
import { BeamgateError } from '../src/index.js';

describe('base: BeamgateError', () => {
  it('carries a stable code, a name and the cause', () => {
    const cause = new Error('inner');
    const e = new BeamgateError('SOME_CODE', 'outer', { cause });
    expect(e).to.be.instanceOf(Error);
    expect(e.code).to.equal('SOME_CODE');
    expect(e.name).to.equal('BeamgateError');
    expect(e.cause).to.equal(cause);
    expect(new BeamgateError('X', 'y').cause).to.equal(undefined);
  });
});
