import { expect } from 'chai';
import {
  BeepUrlError, ChannelStateError, ConfigError, ContextRefusedError, ContextUnavailableError, GatewayError, GatewayStartError,
  GatewayXmlError, JobBusyError, NotAllowedError, replyCodeOf, replyTextOf, UnknownHandlerError,
} from '../src/errors.js';

describe('gateway errors and reply codes', () => {
  it('maps each typed error to its documented reply code', () => {
    const cases: Array<[GatewayError, number, string]> = [
      [new GatewayXmlError('x'), 501, 'GATEWAY_BAD_XML'],
      [new UnknownHandlerError('x'), 550, 'GATEWAY_UNKNOWN_HANDLER'],
      [new NotAllowedError('x'), 537, 'GATEWAY_NOT_ALLOWED'],
      [new NotAllowedError('x', true), 530, 'GATEWAY_AUTH_REQUIRED'],
      [new ContextUnavailableError('x'), 421, 'GATEWAY_CONTEXT_UNAVAILABLE'],
      [new ChannelStateError('x'), 554, 'GATEWAY_BAD_STATE'],
      [new JobBusyError('x'), 450, 'GATEWAY_JOB_BUSY'],
      [new ContextRefusedError('x'), 554, 'GATEWAY_CONTEXT_REFUSED'],
      [new BeepUrlError('x'), 501, 'GATEWAY_BAD_URL'],
      [new GatewayStartError('x'), 451, 'GATEWAY_START_FAILED'],
    ];
    for (const [e, rc, code] of cases) {
      expect(replyCodeOf(e), e.name).to.equal(rc);
      expect(e.code).to.equal(code);
      expect(e).to.be.instanceOf(Error);
    }
  });

  it('keeps a foreign replyCode in 400..599 and hides internals otherwise', () => {
    expect(replyCodeOf(Object.assign(new Error('x'), { replyCode: 550 }))).to.equal(550);
    expect(replyCodeOf(Object.assign(new Error('x'), { replyCode: 200 }))).to.equal(451);
    expect(replyCodeOf(new TypeError('boom'))).to.equal(451);
    expect(replyCodeOf(undefined)).to.equal(451);
    expect(replyTextOf(new TypeError('secret path /x'))).to.equal('internal gateway error');
    expect(replyTextOf(new ConfigError('bad'))).to.equal('bad');
  });

  it('keeps the cause', () => {
    const cause = new Error('inner');
    expect(new ContextUnavailableError('down', { cause }).cause).to.equal(cause);
  });
});
