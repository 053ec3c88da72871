/** The job profile `urn:beamgate:profile:job` as a BEEP profile definition (docs/gateway.md §2). */
import type { Channel, ProfileDefinition, Session, StartDecision, StartInfo } from '@beamgate/beep';
import { GatewayXmlError, replyCodeOf, replyTextOf } from '../errors.js';
import { buildJobId, JOB_PROFILE_URI, parseJobRequest } from '../wire/job-xml.js';
import { JobChannel, type JobHub } from './job-channel.js';

/** Per-session channels of this profile, keyed by channel number (onStart runs before the Channel exists). */
const bySession = new WeakMap<Session, Map<number, JobChannel>>();

function channelsOf(session: Session): Map<number, JobChannel> {
  let m = bySession.get(session);
  if (!m) {
    m = new Map();
    bySession.set(session, m);
  }
  return m;
}

/** A session id for logs. */
const sessionIds = new WeakMap<Session, number>();
let nextSessionId = 1;
export function sessionId(s: Session): number {
  let id = sessionIds.get(s);
  if (id === undefined) {
    id = nextSessionId++;
    sessionIds.set(s, id);
  }
  return id;
}

export function jobProfile(hub: JobHub): ProfileDefinition {
  const find = (ch: Channel): JobChannel | undefined => channelsOf(ch.session).get(ch.number);
  return {
    uri: JOB_PROFILE_URI,
    async onStart(info: StartInfo): Promise<StartDecision> {
      const jc = new JobChannel(hub, sessionId(info.session), info.channel, () => info.session.authenticatedIdentity);
      try {
        if (hub.draining) return { refuse: { code: 421, text: 'the gateway is shutting down' } };
        let content: string | undefined;
        if (info.content !== undefined && info.content.length > 0) {
          if (info.content.length > 4096) throw new GatewayXmlError('start content over 4096 octets');
          const req = parseJobRequest(info.content, { maxBytes: 4096, maxArgs: hub.limits.maxArgs, maxEnv: hub.limits.maxEnv });
          content = buildJobId(await jc.setup(req));
        }
        channelsOf(info.session).set(info.channel, jc);
        return content === undefined ? true : { content, encoding: 'none' };
      } catch (e) {
        const code = replyCodeOf(e);
        hub.metrics.errors.inc({ code: String(code) });
        if (code === 451) hub.log.warn('job start failed', { err: e });
        jc.onClosed();
        return { refuse: { code, text: replyTextOf(e) } };
      }
    },
    onChannel(ch: Channel): void {
      const jc = find(ch);
      if (!jc) return;
      jc.channel = ch;
      hub.metrics.channels.inc({ profile: 'job' });
      hub.metrics.channelsTotal.inc({ profile: 'job' });
      ch.once('close', () => {
        hub.metrics.channels.dec({ profile: 'job' });
        channelsOf(ch.session).delete(ch.number);
        jc.onClosed();
      });
    },
    onMessage(msg, reply): void {
      const jc = find(msg.channel);
      if (!jc) {
        reply.err(451, 'channel state lost');
        return;
      }
      jc.onMessage(msg, reply);
    },
    onCloseRequest(ch: Channel): boolean {
      find(ch)?.onCloseRequest();
      return true;
    },
  };
}
