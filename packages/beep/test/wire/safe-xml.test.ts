import { expect } from 'chai';
import { BeepXmlError } from '../../src/errors.js';
import { parseSafeXml } from '../../src/wire/xml/safe-xml.js';

describe('wire: the one-pass guarded XML parser', () => {
  it('builds text from text, references and CDATA in document order, skipping comments, with XML line ends', () => {
    const e = parseSafeXml("<a v='1\r\n2\t3&#10;'>x\r\n<!-- c -->y&amp;<![CDATA[<z>\r]]>&#13;<b k=\"&lt;\"/>w</a>");
    expect(e).to.deep.equal({
      name: 'a',
      attrs: { v: '1 2 3\n' },
      children: [{ name: 'b', attrs: { k: '<' }, children: [], text: '' }],
      text: 'x\ny&<z>\n\rw',
    });
  });

  it('bounds the attributes on one element (maxAttributes, default 32) with a 500', () => {
    const attrs = (n: number): string => Array.from({ length: n }, (_, i) => ` a${i}='${i}'`).join('');
    expect(Object.keys(parseSafeXml(`<x${attrs(32)}/>`).attrs)).to.have.length(32);
    expect(() => parseSafeXml(`<x${attrs(33)}/>`))
      .to.throw(BeepXmlError, /more than 32 attributes on <x>/)
      .that.includes({ code: 'BEEP_XML_TOO_LARGE', replyCode: 500 });
    expect(() => parseSafeXml(`<x><y${attrs(3)}/></x>`, { maxAttributes: 2 })).to.throw(BeepXmlError, /attributes on <y>/);
  });

  it('checks well-formedness before the allowed roots (500 before 501)', () => {
    expect(() => parseSafeXml('<other><a></other>', { allowedRoots: ['ready'] })).to.throw(BeepXmlError).with.property('replyCode', 500);
    expect(() => parseSafeXml('<other/>', { allowedRoots: ['ready'] })).to.throw(BeepXmlError).with.property('replyCode', 501);
  });
});
