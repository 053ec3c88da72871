/**
 * `beep listen --metrics HOST:PORT`: Prometheus series counted from the Listener's and sessions' public events and
 * from around the test profiles' handlers, so the library itself knows nothing of prom-client.
 */
import type net from 'node:net';
import { Counter, createMetricsRegistry, DURATION_BUCKETS, Gauge, Histogram, LATENCY_BUCKETS, SIZE_BUCKETS, type Registry } from '@beamgate/base';
import type { Session } from '../session/session.js';
import type { ProfileDefinition } from '../session/types.js';

export class ListenMetrics {
  readonly registry: Registry = createMetricsRegistry({ labels: { program: 'beep' } });
  private readonly r = [this.registry];
  readonly sessionsTotal = new Counter({ name: 'beamgate_beep_sessions_total', help: 'BEEP sessions accepted', registers: this.r });
  readonly sessions = new Gauge({ name: 'beamgate_beep_sessions', help: 'Open BEEP sessions', registers: this.r });
  readonly sessionSeconds = new Histogram({ name: 'beamgate_beep_session_duration_seconds', help: 'Lifetime of closed BEEP sessions', buckets: DURATION_BUCKETS, registers: this.r });
  readonly channelsTotal = new Counter({ name: 'beamgate_beep_channels_total', help: 'Channels started by profile', labelNames: ['profile'], registers: this.r });
  readonly messagesTotal = new Counter({ name: 'beamgate_beep_messages_total', help: 'MSGs handled by profile', labelNames: ['profile'], registers: this.r });
  readonly messageSeconds = new Histogram({
    name: 'beamgate_beep_message_duration_seconds', help: 'Time from a MSG to the end of its reply, by profile', labelNames: ['profile'], buckets: LATENCY_BUCKETS, registers: this.r,
  });
  readonly messageBytes = new Histogram({ name: 'beamgate_beep_message_size_bytes', help: 'Size of the MSGs received (MIME headers and body)', buckets: SIZE_BUCKETS, registers: this.r });
  readonly bytesTotal = new Counter({ name: 'beamgate_beep_bytes_total', help: 'Octets on the sessions\' sockets by direction', labelNames: ['direction'], registers: this.r });
  readonly authFailures = new Counter({ name: 'beamgate_auth_failures_total', help: 'Failed SASL authentications', labelNames: ['listener'], registers: this.r });
  readonly refusals = new Counter({ name: 'beamgate_limit_refusals_total', help: 'Sessions or requests refused by a limit', labelNames: ['limit'], registers: this.r });

  /** Count one accepted session until it closes. */
  session(session: Session): void {
    const start = process.hrtime.bigint();
    this.sessionsTotal.inc();
    this.sessions.inc();
    session.on('channel', (ch) => this.channelsTotal.inc({ profile: ch.profile }));
    session.once('close', () => {
      this.sessions.dec();
      this.sessionSeconds.observe(Number(process.hrtime.bigint() - start) / 1e9);
    });
  }

  /** Count a socket's octets when it closes. */
  socket(sock: net.Socket): void {
    sock.once('close', () => {
      this.bytesTotal.inc({ direction: 'in' }, sock.bytesRead);
      this.bytesTotal.inc({ direction: 'out' }, sock.bytesWritten);
    });
  }

  /** The profile with its messages counted and timed. */
  profile(p: ProfileDefinition): ProfileDefinition {
    const onMessage = p.onMessage;
    if (onMessage === undefined) return p;
    const labels = { profile: p.uri };
    return {
      ...p,
      onMessage: (msg, reply, ...rest) => {
        const end = this.messageSeconds.startTimer(labels);
        this.messagesTotal.inc(labels);
        this.messageBytes.observe(msg.raw.length);
        const out = (onMessage as (...a: unknown[]) => unknown).call(p, msg, reply, ...rest);
        if (out instanceof Promise) out.finally(end).catch(() => {});
        else end();
        return out as never;
      },
    };
  }
}
