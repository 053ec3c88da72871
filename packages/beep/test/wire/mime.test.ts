import { expect } from 'chai';
import { BeepProtocolError, BeepUsageError } from '../../src/errors.js';
import { buildEntity, buildXmlEntity, getHeader, parseEntity } from '../../src/wire/mime.js';

const b = (s: string) => Buffer.from(s, 'latin1');

describe('wire: MIME entities', () => {
  it('parses headers, defaults and a body view', () => {
    const payload = b('Content-Type: application/beep+xml; charset=utf-8\r\nX-Long: a\r\n  b\r\n\r\n<ok />');
    const e = parseEntity(payload, { strict: true });
    expect(e.headers).to.deep.equal([
      ['Content-Type', 'application/beep+xml; charset=utf-8'],
      ['X-Long', 'a b'],
    ]);
    expect(e.mediaType).to.equal('application/beep+xml');
    expect(e.transferEncoding).to.equal('binary');
    expect(e.body.toString()).to.equal('<ok />');
    expect(e.body.buffer).to.equal(payload.buffer);
    expect(getHeader(e, 'x-long')).to.equal('a b');
  });

  it('treats a leading CRLF as no headers, and applies the defaults', () => {
    const e = parseEntity(b('\r\nbody\r\n\r\nmore'), { strict: true });
    expect(e.headers).to.deep.equal([]);
    expect(e.contentType).to.equal('application/octet-stream');
    expect(e.body.toString()).to.equal('body\r\n\r\nmore');
    expect(parseEntity(b('Content-Transfer-Encoding: BASE64\r\n\r\nAAA=')).transferEncoding).to.equal('base64');
    expect(parseEntity(Buffer.alloc(0), { strict: true }).body.length).to.equal(0);
  });

  it('lenient mode takes a payload without a header block whole; strict mode refuses it', () => {
    for (const raw of ['<ok />', 'no colon here\r\n\r\nx', 'Name: value\nbare LF\r\n\r\n', 'Unterminated: yes\r\n', 'Bad Name: x\r\n\r\n']) {
      const e = parseEntity(b(raw));
      expect(e.body.toString(), raw).to.equal(raw);
      expect(e.contentType).to.equal('application/octet-stream');
      expect(() => parseEntity(b(raw), { strict: true }), raw).to.throw(BeepProtocolError).with.property('code', 'BEEP_MIME_SYNTAX');
    }
  });

  it('bounds the header block', () => {
    const raw = b(`X: ${'a'.repeat(200)}\r\n\r\nbody`);
    expect(() => parseEntity(raw, { strict: true, maxHeaderBytes: 100 })).to.throw(BeepProtocolError).with.property('code', 'BEEP_MIME_HEADER_TOO_LONG');
    expect(parseEntity(raw, { maxHeaderBytes: 100 }).body.length).to.equal(raw.length);
    expect(parseEntity(raw, { strict: true }).body.toString()).to.equal('body');
  });

  it('builds entities that parse back', () => {
    expect(buildEntity('hi').toString()).to.equal('\r\nhi');
    expect(buildXmlEntity('<ok />').toString()).to.equal('Content-Type: application/beep+xml\r\n\r\n<ok />');
    const built = buildEntity(Buffer.from([0, 1, 2]), { contentType: 'application/x-test', transferEncoding: 'binary' });
    const e = parseEntity(built, { strict: true });
    expect(e.contentType).to.equal('application/x-test');
    expect([...e.body]).to.deep.equal([0, 1, 2]);
    expect(parseEntity(buildEntity('x', [['Beam-Stream', '1']])).headers).to.deep.equal([['Beam-Stream', '1']]);
    expect(() => buildEntity('x', [['X', 'a\r\nInjected: 1']])).to.throw(BeepUsageError);
    expect(() => buildEntity('x', [['Bad Name', 'v']])).to.throw(BeepUsageError);
  });
});
