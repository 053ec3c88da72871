import { expect } from 'chai';
import { buildXml, el, parseXml } from '../../src/wire/xml.js';
import { GatewayXmlError } from '../../src/errors.js';

describe('gateway wire: strict XML', () => {
  it('parses elements, both quote styles, entities, char refs, CDATA and comments', () => {
    const e = parseXml(`<!-- c --><job name="a&amp;b" x='&#x41;&#66;'><arg>&lt;1&gt;</arg><!-- skip --><arg><![CDATA[<raw>&amp;]]></arg></job>\n`);
    expect(e.name).to.equal('job');
    expect(e.attrs['name']).to.equal('a&b');
    expect(e.attrs['x']).to.equal('AB');
    const texts = e.children.map((c) => c.text);
    expect(texts).to.deep.equal(['<1>', '<raw>&amp;']);
  });

  it('normalizes line ends in text and whitespace in attributes, but keeps character references', () => {
    const e = parseXml("<a v='x\ty&#10;z'>l1\r\nl2\rl3&#13;</a>");
    expect(e.attrs['v']).to.equal('x y\nz');
    expect(e.text).to.equal('l1\nl2\nl3\r');
  });

  const bad: Array<[string, string]> = [
    ['<?xml version="1.0"?><a/>', 'XML declaration'],
    ['<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>', 'DOCTYPE'],
    ['<a>&x;</a>', 'unknown entity'],
    ['<a>a & b</a>', 'bare ampersand'],
    ['<a>&#0;</a>', 'NUL char ref'],
    ['<a>\u0001</a>', 'control char'],
    ['<a b=c/>', 'unquoted attribute'],
    ["<a b='1' b='2'/>", 'repeated attribute'],
    ["<a b='<'/>", '< in attribute'],
    ['<a></b>', 'mismatched close'],
    ['<a>', 'unclosed'],
    ['<a/><b/>', 'two roots'],
    ['text', 'no root'],
    ['<a><?pi x?></a>', 'processing instruction'],
    ['<a>]]></a>', ']]> in text'],
    ['<a><!-- x -- y --></a>', '-- in comment'],
    ["<a b='1'c='2'/>", 'no space between attributes'],
  ];
  for (const [input, why] of bad) {
    it(`refuses ${why}`, () => {
      expect(() => parseXml(input)).to.throw(GatewayXmlError).with.property('replyCode', 501);
    });
  }

  it('enforces size, depth, element and attribute limits', () => {
    expect(() => parseXml('<a>' + 'x'.repeat(100) + '</a>', { maxBytes: 50 })).to.throw(GatewayXmlError, /limit 50/);
    expect(() => parseXml('<a><a><a></a></a></a>', { maxDepth: 2 })).to.throw(GatewayXmlError, /deeper/);
    expect(() => parseXml('<a><b/><b/><b/></a>', { maxElements: 3 })).to.throw(GatewayXmlError, /elements/);
    expect(() => parseXml("<a x='1' y='2'/>", { maxAttributes: 1 })).to.throw(GatewayXmlError, /attributes/);
    expect(parseXml('<a><a></a></a>', { maxDepth: 2 }).name).to.equal('a');
  });

  it('refuses bytes that are not UTF-8', () => {
    expect(() => parseXml(Buffer.from([0x3c, 0x61, 0x3e, 0xff, 0x3c, 0x2f, 0x61, 0x3e]))).to.throw(GatewayXmlError, /UTF-8/);
  });

  it('round-trips values that need escaping', () => {
    const nasty = `a'b"c<d>&e\r\nf\tg`;
    const xml = buildXml(el('x', { v: nasty }, [], nasty));
    const back = parseXml(xml);
    expect(back.attrs['v']).to.equal(nasty);
    expect(back.text).to.equal(nasty);
    expect(buildXml(el('run'))).to.equal('<run/>');
  });
});
