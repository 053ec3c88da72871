import { expect } from 'chai';
import { BeepXmlError } from '../../src/errors.js';
import {
  buildProceed, buildReady, parseErrorElement, parseReady, parseTlsReply, TLS_PROFILE_URI, TlsProfileClient, TlsProfileServer,
} from '../../src/profiles/index.js';

describe('TLS profile XML (RFC 3080 §3.1, §7.2)', () => {
  it('builds and parses ready and proceed', () => {
    expect(TLS_PROFILE_URI).to.equal('http://iana.org/beep/TLS');
    expect(buildReady()).to.equal('<ready />');
    expect(parseReady('<ready />')).to.deep.equal({ version: '1' });
    expect(parseReady("<ready version='1'/>")).to.deep.equal({ version: '1' });
    expect(parseReady('<![CDATA[<ready />]]>')).to.deep.equal({ version: '1' });
    expect(parseReady(buildReady('2'))).to.deep.equal({ version: '2' });
    expect(parseTlsReply(buildProceed())).to.deep.equal({ kind: 'proceed' });
    expect(parseTlsReply("<error code='501'>bad</error>")).to.deep.equal({ kind: 'error', error: { code: 501, message: 'bad', lang: undefined } });
  });

  it('refuses non-empty or decorated ready/proceed and hostile XML', () => {
    const cases: [() => unknown, number][] = [
      [() => parseReady('<ready>x</ready>'), 501],
      [() => parseReady("<ready foo='1'/>"), 501],
      [() => parseReady('<proceed/>'), 501],
      [() => parseReady('<!DOCTYPE ready><ready/>'), 500],
      [() => parseTlsReply('<proceed>now</proceed>'), 501],
      [() => parseTlsReply("<proceed version='1'/>"), 501],
      [() => parseTlsReply('<ready/>'), 501],
      [() => parseTlsReply('<proceed'), 500],
    ];
    for (const [fn, code] of cases) {
      try {
        fn();
        expect.fail('expected an error');
      } catch (err) {
        expect(err).to.be.instanceOf(BeepXmlError);
        expect((err as BeepXmlError).replyCode).to.equal(code);
      }
    }
  });
});

describe('TLS profile exchange (sans-IO)', () => {
  it('client piggybacks ready; server answers proceed; client proceeds', () => {
    const client = new TlsProfileClient();
    const server = new TlsProfileServer({ available: true, secure: false });
    const start = client.startContent();
    expect(client.state).to.equal('ready-sent');
    const r = server.onStart(start);
    expect(r).to.deep.equal({ content: '<proceed />', proceed: true });
    expect(server.state).to.equal('proceed');
    expect(client.onStartReply(r.content)).to.deep.equal({ kind: 'proceed' });
    expect(client.state).to.equal('proceed');
  });

  it('ready may come as a MSG after an empty start', () => {
    const client = new TlsProfileClient();
    const server = new TlsProfileServer({ available: true, secure: false });
    client.startContent();
    const r = server.onStart(undefined);
    expect(r).to.deep.equal({ content: undefined, proceed: false });
    const step = client.onStartReply(r.content);
    expect(step).to.deep.equal({ kind: 'send', body: '<ready />' });
    const m = server.onMessage((step as { body: string }).body);
    expect(m).to.deep.equal({ kind: 'rpy', body: '<proceed />', proceed: true });
    expect(client.onReply(m.kind, m.body).kind).to.equal('proceed');
  });

  it('a bad ready gets <error code=501> inside the start reply (checklist J.48)', () => {
    const server = new TlsProfileServer({ available: true, secure: false });
    const r = server.onStart("<ready version='7'/>");
    expect(r.proceed).to.equal(false);
    expect(parseErrorElement(r.content ?? '').code).to.equal(501);
    const junk = new TlsProfileServer({ available: true, secure: false }).onStart('<readyy/>');
    expect(parseErrorElement(junk.content ?? '').code).to.equal(501);
    const client = new TlsProfileClient();
    client.startContent();
    const step = client.onStartReply(r.content);
    expect(step.kind).to.equal('failed');
    expect((step as { error: { replyCode: number; code: string } }).error).to.include({ replyCode: 501, code: 'BEEP_TLS_REFUSED' });
  });

  it('refuses TLS when already secure (554) or without a certificate (421); ERR for a MSG', () => {
    expect(parseErrorElement(new TlsProfileServer({ available: true, secure: true }).onStart('<ready/>').content ?? '').code).to.equal(554);
    expect(parseErrorElement(new TlsProfileServer({ available: false, secure: false }).onStart('<ready/>').content ?? '').code).to.equal(421);
    const m = new TlsProfileServer({ available: false, secure: false }).onMessage('<ready/>');
    expect(m.kind).to.equal('err');
    expect(m.proceed).to.equal(false);
  });

  it('a client refuses an unparsable answer and reports a refused start', () => {
    const c = new TlsProfileClient();
    c.startContent();
    expect(c.onStartReply('<proceed>').kind).to.equal('failed');
    const c2 = new TlsProfileClient();
    c2.startContent();
    const step = c2.onStartRefused(550, 'no');
    expect((step as { error: { replyCode: number } }).error.replyCode).to.equal(550);
  });
});
