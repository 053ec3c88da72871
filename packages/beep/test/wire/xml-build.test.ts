import { expect } from 'chai';
import { BeepUsageError } from '../../src/errors.js';
import {
  buildClose,
  buildElement,
  buildError,
  buildGreeting,
  buildOk,
  buildProfile,
  buildStart,
  cdata,
  cdataSafe,
  escapeXmlAttr,
  escapeXmlText,
} from '../../src/wire/xml/build.js';
import { parseChannel0, profileContentBytes } from '../../src/wire/xml/channel0.js';
import { parseSafeXml } from '../../src/wire/xml/safe-xml.js';

const nasty = `a&b<c>d'e"f\r\ng\th ]]> é 😀`;

describe('wire: channel-0 XML builders', () => {
  it('escapes text and attributes', () => {
    expect(escapeXmlText(`&<>'"`)).to.equal('&amp;&lt;&gt;&apos;&quot;');
    expect(escapeXmlAttr('a\tb\nc\rd')).to.equal('a&#9;b&#10;c&#13;d');
    expect(() => escapeXmlText('a\u0001')).to.throw(BeepUsageError);
    expect(cdata('x]]>y')).to.equal('<![CDATA[x]]]]><![CDATA[>y]]>');
  });

  it('sends profile content as CDATA when it can, escaped otherwise (Vortex compares the raw text)', () => {
    expect(buildStart({ number: 1, profiles: [{ uri: 'http://iana.org/beep/TLS', content: '<ready />' }] })).to.equal(
      "<start number='1'><profile uri='http://iana.org/beep/TLS'><![CDATA[<ready />]]></profile></start>",
    );
    expect(buildProfile({ uri: 'urn:x', content: "<blob status='complete' />" })).to.equal(
      "<profile uri='urn:x'><![CDATA[<blob status='complete' />]]></profile>",
    );
    expect(buildProfile({ uri: 'urn:x', content: 'a]]>b' })).to.equal("<profile uri='urn:x'>a]]&gt;b</profile>");
    expect(buildProfile({ uri: 'urn:x', content: 'a\r\nb' })).to.equal("<profile uri='urn:x'>a&#13;\nb</profile>");
    expect(buildProfile({ uri: 'urn:x', content: '<a/>', cdata: false })).to.equal("<profile uri='urn:x'>&lt;a/&gt;</profile>");
    expect(cdataSafe('<job/>')).to.equal(true);
    expect(cdataSafe('x]]>')).to.equal(false);
    for (const content of ['<ready />', 'a]]>b', 'a\r\nb', `<blob>${'A'.repeat(100)}</blob>`]) {
      const p = parseChannel0(buildProfile({ uri: 'urn:x', content }), { expect: 'rpy' });
      expect(p.type === 'profile' && p.content).to.equal(content);
    }
  });

  it('round-trips every element through the parser, with hostile text', () => {
    expect(parseChannel0(buildGreeting({ profiles: ['urn:a', "urn:b'&"], features: ['x-a'], localize: ['fr'] }), { expect: 'rpy' }))
      .to.deep.equal({ type: 'greeting', profiles: ['urn:a', "urn:b'&"], features: ['x-a'], localize: ['fr'] });
    expect(buildGreeting()).to.equal('<greeting />');
    const start = buildStart({
      number: 7,
      serverName: nasty,
      profiles: [
        { uri: 'urn:text', content: nasty },
        { uri: 'urn:cdata', content: nasty, cdata: true },
        { uri: 'urn:bin', content: Buffer.from([0, 255, 10]) },
        { uri: 'urn:none' },
      ],
    });
    const parsed = parseChannel0(start, { expect: 'msg', strict: true, decodeBase64: true });
    if (parsed.type !== 'start') throw new Error('expected a start');
    expect(parsed.number).to.equal(7);
    expect(parsed.serverName).to.equal(nasty);
    expect(parsed.profiles[0]?.content).to.equal(nasty);
    // CDATA carries CR LF literally, and XML line-end normalization turns it into LF.
    expect(parsed.profiles[1]?.content).to.equal(nasty.replace('\r\n', '\n'));
    expect([...(parsed.profiles[2]?.contentBytes ?? [])]).to.deep.equal([0, 255, 10]);
    expect(parsed.profiles[2]?.encoding).to.equal('base64');
    expect(parsed.profiles[3]).to.deep.equal({ uri: 'urn:none', encoding: 'none' });

    const prof = parseChannel0(buildProfile({ uri: 'urn:x', content: 'abc', encoding: 'base64' }), { expect: 'rpy' });
    expect(prof).to.deep.equal({ type: 'profile', uri: 'urn:x', encoding: 'base64', content: 'YWJj' });
    if (prof.type === 'profile') expect(profileContentBytes(prof).toString()).to.equal('abc');
    expect(parseChannel0(buildClose({ number: 3, code: 550, lang: 'en', text: nasty }), { expect: 'msg' }))
      .to.deep.equal({ type: 'close', number: 3, code: 550, lang: 'en', text: nasty.trim() });
    expect(buildClose({ code: 200 })).to.equal("<close number='0' code='200' />");
    expect(parseChannel0(buildOk(), { expect: 'rpy', strict: true })).to.deep.equal({ type: 'ok' });
    expect(parseChannel0(buildError({ code: 421, text: 'busy' }), { expect: 'err' })).to.deep.equal({ type: 'error', code: 421, text: 'busy' });
  });

  it('refuses values the protocol cannot carry', () => {
    expect(() => buildStart({ number: 0, profiles: [{ uri: 'u' }] })).to.throw(BeepUsageError);
    expect(() => buildStart({ number: 1, profiles: [] })).to.throw(BeepUsageError);
    expect(() => buildStart({ number: 1, profiles: [{ uri: '' }] })).to.throw(BeepUsageError);
    expect(() => buildClose({ code: 99 })).to.throw(BeepUsageError);
    expect(() => buildError({ code: 600 })).to.throw(BeepUsageError);
    expect(() => buildGreeting({ features: ['two words'] })).to.throw(BeepUsageError);
    expect(() => buildElement('bad name')).to.throw(BeepUsageError);
  });

  it('builds profile bodies for the safe parser', () => {
    const job = buildElement('job', { name: "l's" }, {
      children: [buildElement('arg', {}, { text: 'a<b' }), buildElement('env', { name: 'K' }, { text: 'V' })],
    });
    expect(parseSafeXml(job, { allowedRoots: ['job'] })).to.deep.equal({
      name: 'job',
      attrs: { name: "l's" },
      children: [
        { name: 'arg', attrs: {}, children: [], text: 'a<b' },
        { name: 'env', attrs: { name: 'K' }, children: [], text: 'V' },
      ],
      text: '',
    });
    expect(buildElement('ready', { version: 1 })).to.equal("<ready version='1' />");
  });
});
