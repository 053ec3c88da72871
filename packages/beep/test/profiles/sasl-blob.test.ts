import { expect } from 'chai';
import { BeepXmlError } from '../../src/errors.js';
import { buildBlob, buildErrorElement, decodeBase64Strict, parseBlob, parseErrorElement, parseSaslContent } from '../../src/profiles/index.js';

function xmlError(fn: () => unknown): BeepXmlError {
  try {
    fn();
  } catch (err) {
    expect(err).to.be.instanceOf(BeepXmlError);
    return err as BeepXmlError;
  }
  expect.fail('expected a BeepXmlError');
}

describe('SASL <blob> element (RFC 3080 §7.3)', () => {
  it('parses data, the default status and both quote styles', () => {
    expect(parseBlob('<blob>AGJsb2NrbWFzdGVy</blob>')).to.deep.equal({ status: 'continue', data: Buffer.from('\0blockmaster') });
    expect(parseBlob('<blob status="complete"/>')).to.deep.equal({ status: 'complete', data: Buffer.alloc(0) });
    expect(parseBlob("<blob status='abort' />").status).to.equal('abort');
    expect(parseBlob("<blob xml:space='preserve' status='continue'>\r\n  AGJs\r\n  b2Nr\r\n</blob>").data.toString()).to.equal('\0blo' + 'ck');
    expect(parseBlob(Buffer.from('<blob>dGVzdA==</blob>')).data.toString()).to.equal('test');
  });

  it('accepts content piggybacked as a CDATA section and a blob inside CDATA', () => {
    expect(parseBlob('<![CDATA[<blob>dGVzdA==</blob>]]>').data.toString()).to.equal('test');
    expect(parseBlob('<blob><![CDATA[dGVz]]>dA==</blob>').data.toString()).to.equal('test');
    expect(parseBlob(Buffer.from(' <![CDATA[<blob>dGVzdA==</blob>]]> ')).data.toString()).to.equal('test');
  });

  it('builds blobs that parse back', () => {
    expect(buildBlob({ data: Buffer.from('test') })).to.equal('<blob>dGVzdA==</blob>');
    expect(buildBlob({ status: 'complete' })).to.equal("<blob status='complete' />");
    expect(buildBlob({ status: 'abort' })).to.equal("<blob status='abort' />");
    const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);
    expect(parseBlob(buildBlob({ status: 'complete', data: bytes }))).to.deep.equal({ status: 'complete', data: bytes });
  });

  it('refuses bad base64 with 501', () => {
    for (const bad of ['<blob>!!!!</blob>', '<blob>abc</blob>', '<blob>ab=c</blob>', '<blob>dGVzdB==</blob>', '<blob>dGVzdA===</blob>']) {
      expect(xmlError(() => parseBlob(bad)).replyCode, bad).to.equal(501);
    }
    expect(() => decodeBase64Strict('Zm9v YmFy')).to.not.throw(); // folded white space is fine
  });

  it('refuses a bad status, a bad xml:space, unknown attributes and child elements with 501', () => {
    for (const bad of [
      "<blob status='done'/>",
      "<blob status=''/>",
      "<blob xml:space='keep'/>",
      "<blob mode='x'/>",
      '<blob><x/></blob>',
      '<ready/>',
    ]) {
      expect(xmlError(() => parseBlob(bad)).replyCode, bad).to.equal(501);
    }
  });

  it('refuses DOCTYPE, entities, XML declarations and malformed XML with 500', () => {
    for (const bad of [
      '<!DOCTYPE blob [<!ENTITY x "AAAA">]><blob>&x;</blob>',
      '<?xml version="1.0"?><blob/>',
      '<blob>&foo;</blob>',
      '<blob>',
      '<blob></blobx>',
      '<blob status=complete/>',
      '<blob/><blob/>',
      '<blob>\u0001</blob>',
    ]) {
      expect(xmlError(() => parseBlob(bad)).replyCode, bad).to.equal(500);
    }
    expect(xmlError(() => parseBlob(Buffer.from([0x3c, 0x62, 0xff, 0x3e]))).replyCode).to.equal(500);
  });

  it('enforces the size limit', () => {
    const big = `<blob>${'A'.repeat(20000)}</blob>`;
    expect(() => parseBlob(big)).to.throw(BeepXmlError);
    expect(parseBlob(big, { maxLength: 30000 }).data.length).to.equal(15000);
  });

  it('tells blobs from errors', () => {
    expect(parseSaslContent("<error code='535'>authentication failure</error>")).to.deep.equal({
      kind: 'error',
      error: { code: 535, message: 'authentication failure', lang: undefined },
    });
    expect(parseSaslContent('<blob/>').kind).to.equal('blob');
    expect(xmlError(() => parseSaslContent("<error code='5x5'/>")).replyCode).to.equal(501);
  });

  it('builds <error> elements with escaping', () => {
    const xml = buildErrorElement({ code: 534, message: 'a < b & "c"', lang: 'en' });
    expect(parseErrorElement(xml)).to.deep.equal({ code: 534, message: 'a < b & "c"', lang: 'en' });
    expect(buildErrorElement({ code: 538, message: '' })).to.equal("<error code='538' />");
  });
});
