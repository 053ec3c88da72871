import { expect } from 'chai';
import { BeepUsageError } from '../../src/errors.js';
import { DEFAULT_LIMITS, resolveLimits, type SessionLimits } from '../../src/session/options.js';

describe('session options: limit validation', () => {
  it('fills in the defaults', () => {
    expect(resolveLimits({})).to.deep.equal(DEFAULT_LIMITS);
  });

  it('refuses negative, fractional, non-finite and out-of-range limits with a typed error naming the option', () => {
    const bad: Array<[keyof SessionLimits, number]> = [
      ['receiveWindow', -1],
      ['receiveWindow', 65536.5],
      ['receiveWindow', 4095],
      ['receiveWindow', Number.NaN],
      ['maxFrameSize', -1],
      ['maxFrameSize', 1e300],
      ['maxMessageSize', Infinity],
      ['maxHeaderLength', 10],
      ['maxChannels', 0],
      ['maxOutstanding', 1.5],
      ['maxSendFrameSize', 0],
      ['sendHighWater', -5],
      ['greetingTimeout', -1],
      ['closeTimeout', 2 ** 31],
    ];
    for (const [name, v] of bad) {
      expect(() => resolveLimits({ [name]: v }), `${name}=${v}`)
        .to.throw(BeepUsageError, new RegExp(`^${name} must be an integer`))
        .with.property('code', 'BEEP_INVALID_ARGUMENT');
    }
  });

  it('keeps maxFrameSize at least the receive window by default', () => {
    expect(resolveLimits({ receiveWindow: 4 * 1024 * 1024 }).maxFrameSize).to.equal(4 * 1024 * 1024);
  });
});
