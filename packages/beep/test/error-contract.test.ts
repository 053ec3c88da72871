import { expect } from 'chai';
import { failure } from '@beamgate/base/testing';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BeamgateError, ConfigError, documentedErrorCodes, readErrorsDoc } from '@beamgate/base';
import {
  BeepError, buildEntity, connect, decodeFrames, encodeFrame, generateSelfSigned, listen, parseChannel0, parseUserPassword,
  type Listener, type Session,
} from '../src/index.js';


const ECHO = 'urn:beamgate:test:contract';

describe('beep: every error of the public API is a BeepError (or the shared ConfigError) with a code listed in docs/errors.md', () => {
  const codes = documentedErrorCodes(readErrorsDoc(path.dirname(fileURLToPath(import.meta.url))), 'beep');
  let listener: Listener;
  let session: Session | undefined;

  before(async () => {
    listener = await listen({ host: '127.0.0.1', port: 0, profiles: [{ uri: ECHO, onMessage: (msg, reply) => reply.rpy(msg.payload) }] });
  });

  after(async () => {
    session?.destroy();
    await listener.close();
  });

  const port = (): number => (listener.address() as net.AddressInfo).port;

  const cases: Array<[string, () => unknown]> = [
    ['a frame with a bad keyword', () => decodeFrames(Buffer.from('XYZ 0 0 . 0 0\r\nEND\r\n'))],
    ['input ending inside a frame', () => decodeFrames(Buffer.from('MSG 0 0 . 0 5\r\nab'))],
    ['channel-0 XML that is not well-formed', () => parseChannel0('<greeting><bad')],
    ['channel-0 XML with a DOCTYPE', () => parseChannel0('<!DOCTYPE x><greeting/>')],
    ['a frame the encoder cannot write', () => encodeFrame({ type: 'MSG', channel: -1, msgno: 0, more: false, seqno: 0, payload: Buffer.alloc(0) } as never)],
    ['a MIME header value with CRLF', () => buildEntity('x', { 'Content-Type': 'a\r\nb' })],
    ['a self-signed certificate valid for 0 days', () => generateSelfSigned({ days: 0 })],
    ['a credential without a colon', () => parseUserPassword('nocolon')],
    ['connect to a closed port', async () => {
      const server = net.createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const closed = (server.address() as net.AddressInfo).port;
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await connect({ host: '127.0.0.1', port: closed });
    }],
    ['a profile the listener does not offer', async () => {
      session = await connect({ host: '127.0.0.1', port: port() });
      await session.startChannel('urn:beamgate:test:nosuch');
    }],
    ['a channel started on a closed session', async () => {
      const s = await connect({ host: '127.0.0.1', port: port() });
      await s.close();
      await s.startChannel(ECHO);
    }],
  ];

  for (const [what, fn] of cases) {
    it(what, async () => {
      const e = await failure(fn);
      expect(e, String(e)).to.be.instanceOf(BeamgateError);
      expect(e instanceof BeepError || e instanceof ConfigError, `${(e as Error).name} is a BeepError or the shared ConfigError`).to.equal(true);
      expect([...codes], `code ${(e as BeepError).code} of ${(e as Error).name}`).to.include((e as BeepError).code);
    });
  }
});
