import { expect } from 'chai';
import type { AddressInfo } from 'node:net';
import { connect, listen, type Listener } from '../../src/api/connect.js';
import { BeepReplyError } from '../../src/errors.js';
import type { Session } from '../../src/session/session.js';
import { TEST_PROFILE_URIS, testProfiles, testProfileUri } from '../../src/testing/test-profiles.js';

describe('testing: built-in test profiles', function () {
  this.timeout(20000);
  let listener: Listener;
  let session: Session;

  before(async () => {
    listener = await listen({ port: 0, profiles: testProfiles(), maxMessageSize: 1024 * 1024 });
    session = await connect({ port: (listener.address() as AddressInfo).port });
  });

  after(async () => {
    session?.destroy();
    await listener.close(100);
  });

  it('advertises the three URIs, which name their profile', () => {
    expect(session.peerProfiles).to.deep.equal([TEST_PROFILE_URIS.echo, TEST_PROFILE_URIS.ans, TEST_PROFILE_URIS.sink, TEST_PROFILE_URIS.hold]);
    for (const n of ['echo', 'ans', 'sink', 'hold'] as const) expect(testProfileUri(n)).to.equal(TEST_PROFILE_URIS[n]).and.contain(n);
    expect(testProfileUri('urn:other')).to.equal('urn:other');
  });

  it('echo returns the entity, headers included', async () => {
    const ch = await session.startChannel(TEST_PROFILE_URIS.echo);
    const r = await ch.request('body', { contentType: 'text/x-test', headers: { 'X-A': '1' } });
    expect(r.text()).to.equal('body');
    expect(r.entity.contentType).to.equal('text/x-test');
    expect(r.entity.headers).to.deep.include(['X-A', '1']);
  });

  it('ans sends N answers of SIZE octets, and 501 for a bad body', async () => {
    const ch = await session.startChannel(TEST_PROFILE_URIS.ans);
    const sizes: number[] = [];
    for await (const a of ch.requestMany('4,3000')) sizes.push(a.payload.length);
    expect(sizes).to.deep.equal([3000, 3000, 3000, 3000]);
    const none = await ch.request('0,10');
    expect(none.type).to.equal('NUL');
    const err = await ch.request('4;3').catch((e: unknown) => e);
    expect((err as BeepReplyError).replyCode).to.equal(501);
  });

  it('sink answers an empty RPY, even above the reassembly cap', async () => {
    const ch = await session.startChannel(TEST_PROFILE_URIS.sink);
    const r = await ch.request(Buffer.alloc(3 * 1024 * 1024));
    expect(r.type).to.equal('RPY');
    expect(r.payload.length).to.equal(0);
  });
});
