import { expect } from 'chai';
import {
  checkBinary, classifyAnswer, contentTypeOf, encodePlainEntity, encodeStreamData, encodeXmlEntity, parseEntity, parseOutputFrame,
  streamOf,
} from '../../src/wire/entity.js';
import { GatewayXmlError } from '../../src/errors.js';
import { GatewayUsageError } from '../../src/errors.js';

describe('gateway wire: MIME entities and stream tags', () => {
  it('encodes stream data and closes exactly as documented', () => {
    expect(encodeStreamData(1, Buffer.from('hello')).toString()).to.equal('Beam-Stream: 1\r\n\r\nhello');
    expect(encodeStreamData(2).toString()).to.equal('Beam-Stream: 2\r\n\r\n');
    expect(encodeStreamData(12345, Buffer.from('x')).toString()).to.equal('Beam-Stream: 12345\r\n\r\nx');
    expect(() => encodeStreamData(-1)).to.throw(GatewayUsageError);
    expect(encodeXmlEntity("<exit status='0'/>").toString()).to.equal("Content-Type: application/beep+xml\r\n\r\n<exit status='0'/>");
    expect(encodePlainEntity(Buffer.from('x')).toString()).to.equal('\r\nx');
    expect(encodePlainEntity(Buffer.from('x'), 'text/plain').toString()).to.equal('Content-Type: text/plain\r\n\r\nx');
  });

  it('parses headers case-insensitively, with folding, and keeps binary bodies intact', () => {
    const body = Buffer.from([0, 13, 10, 13, 10, 255]);
    const e = parseEntity(Buffer.concat([Buffer.from('beam-stream: 0\r\nContent-Type: application/octet-stream;\r\n x=1\r\n\r\n'), body]));
    expect(streamOf(e.headers)).to.equal(0);
    expect(contentTypeOf(e.headers)).to.equal('application/octet-stream');
    expect(e.headers.get('content-type')).to.equal('application/octet-stream; x=1');
    expect(e.body.equals(body)).to.equal(true);
    const plain = parseEntity(Buffer.from('\r\n*1\r\n$4\r\nPING\r\n'));
    expect(plain.headers.size).to.equal(0);
    expect(plain.body.toString()).to.equal('*1\r\n$4\r\nPING\r\n');
  });

  it('refuses payloads without a header block and bad header lines', () => {
    expect(() => parseEntity(Buffer.from('no headers here'))).to.throw(GatewayXmlError);
    expect(() => parseEntity(Buffer.from('Bad Header: x\r\n\r\n'))).to.throw(GatewayXmlError);
    expect(() => parseEntity(Buffer.from(' folded: x\r\n\r\n'))).to.throw(GatewayXmlError);
    expect(() => parseEntity(Buffer.from('A: ' + 'x'.repeat(5000) + '\r\n\r\n'))).to.throw(GatewayXmlError);
    expect(() => streamOf(new Map([['beam-stream', '01']]))).to.throw(GatewayXmlError);
    expect(() => streamOf(new Map([['beam-stream', '2147483648']]))).to.throw(GatewayXmlError);
    expect(() => checkBinary(new Map([['content-transfer-encoding', 'base64']]))).to.throw(GatewayXmlError);
  });

  it('classifies answers: data, close, control', () => {
    expect(classifyAnswer(parseEntity(Buffer.from('Beam-Stream: 1\r\n\r\nhi')))).to.deep.include({ kind: 'data', stream: 1 });
    expect(classifyAnswer(parseEntity(Buffer.from('Beam-Stream: 2\r\n\r\n')))).to.deep.equal({ kind: 'close', stream: 2 });
    const c = classifyAnswer(parseEntity(encodeXmlEntity("<exit status='3'/>")));
    expect(c.kind).to.equal('control');
    // Input answers default to stream 0 when untagged and not XML.
    expect(classifyAnswer(parseEntity(Buffer.from('\r\nabc')), 0)).to.deep.include({ kind: 'data', stream: 0 });
    expect(classifyAnswer(parseEntity(Buffer.from('\r\n')), 0)).to.deep.equal({ kind: 'close', stream: 0 });
    expect(classifyAnswer(parseEntity(encodeXmlEntity("<signal name='INT'/>")), 0).kind).to.equal('control');
  });

  it('splits output frames N:data and drops malformed ones', () => {
    const f = parseOutputFrame(Buffer.from('1:err'));
    expect(f?.stream).to.equal(1);
    expect(f?.data?.toString()).to.equal('err');
    expect(parseOutputFrame(Buffer.from('0:'))).to.deep.equal({ stream: 0, data: null });
    expect(parseOutputFrame(Buffer.from('2147483647:x'))?.stream).to.equal(2147483647);
    for (const bad of ['x', ':a', '01:a', '1a:b', '-1:a', '2147483648:a', '12345678901:a', ' 1:a']) {
      expect(parseOutputFrame(Buffer.from(bad)), bad).to.equal(undefined);
    }
  });
});
