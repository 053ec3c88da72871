import { expect } from 'chai';
import { BeepSaslError } from '../../src/errors.js';

export async function expectSaslError(p: Promise<unknown>, replyCode: number, code?: string): Promise<BeepSaslError> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(BeepSaslError);
    const e = err as BeepSaslError;
    expect(e.replyCode, e.message).to.equal(replyCode);
    if (code !== undefined) expect(e.code).to.equal(code);
    return e;
  }
  expect.fail('expected a BeepSaslError');
}
