/**
 * The gateway's Prometheus metrics on prom-client (via @beamgate/base): the default process and event-loop
 * metrics, and the series below (names and labels are part of the documented interface, docs/gateway.md §6.2).
 * The endpoint is @beamgate/base serveMetrics: `GET /metrics` and `GET /healthz`.
 */
import {
  Counter, createMetricsRegistry, DURATION_BUCKETS, Gauge, Histogram, Registry, serveMetrics, SIZE_BUCKETS, type MetricsServer,
} from '@beamgate/base';

export { Counter, Gauge, Histogram, Registry, type MetricsServer };
export type Labels = Record<string, string>;

function counter(r: Registry, name: string, help: string, labelNames: string[] = [], initial: Labels[] = []): Counter {
  const c = new Counter({ name, help, labelNames, registers: [r] });
  for (const l of initial) c.inc(l, 0);
  return c;
}

function gauge(r: Registry, name: string, help: string, labelNames: string[] = [], initial: Labels[] = []): Gauge {
  const g = new Gauge({ name, help, labelNames, registers: [r] });
  for (const l of initial) g.set(l, 0);
  return g;
}

export class GatewayMetrics {
  readonly registry: Registry;
  readonly sessions: Gauge;
  readonly sessionsTotal: Counter;
  readonly sessionSeconds: Histogram;
  readonly channels: Gauge;
  readonly channelsTotal: Counter;
  readonly jobs: Gauge;
  readonly jobsFinished: Counter;
  readonly jobSeconds: Histogram;
  readonly bytes: Counter;
  readonly respCommandBytes: Histogram;
  readonly errors: Counter;
  readonly authFailures: Counter;
  readonly respDenied: Counter;

  /** `defaults: false` leaves out the process metrics (several gateways in one test process). */
  constructor(options: { defaults?: boolean } = {}) {
    const r = (this.registry = createMetricsRegistry({ defaults: options.defaults !== false }));
    this.sessions = gauge(r, 'beamgate_sessions', 'Open BEEP sessions');
    this.sessionsTotal = counter(r, 'beamgate_sessions_total', 'BEEP sessions accepted');
    this.sessionSeconds = new Histogram({ name: 'beamgate_session_duration_seconds', help: 'Lifetime of closed BEEP sessions', buckets: DURATION_BUCKETS, registers: [r] });
    this.channels = gauge(r, 'beamgate_channels', 'Open channels by profile', ['profile'], [{ profile: 'job' }, { profile: 'resp' }]);
    this.channelsTotal = counter(r, 'beamgate_channels_total', 'Channels started by profile', ['profile'], [{ profile: 'job' }, { profile: 'resp' }]);
    this.jobs = gauge(r, 'beamgate_jobs', 'Jobs held by the gateway by state', ['state'], [{ state: 'created' }, { state: 'running' }, { state: 'detached' }]);
    this.jobsFinished = counter(r, 'beamgate_jobs_finished_total', 'Jobs that ended by result', ['result'], [{ result: 'exited' }, { result: 'stopped' }]);
    this.jobSeconds = new Histogram({
      name: 'beamgate_job_duration_seconds', help: 'Time from run to the end of jobs relayed by the gateway, by result', labelNames: ['result'],
      buckets: DURATION_BUCKETS, registers: [r],
    });
    this.bytes = counter(r, 'beamgate_bytes_total', 'Payload octets of job data and RESP', ['direction', 'profile'], [
      { direction: 'in', profile: 'job' },
      { direction: 'out', profile: 'job' },
      { direction: 'in', profile: 'resp' },
      { direction: 'out', profile: 'resp' },
    ]);
    this.respCommandBytes = new Histogram({ name: 'beamgate_resp_message_size_bytes', help: 'Size of the RESP-over-BEEP messages received', buckets: SIZE_BUCKETS, registers: [r] });
    this.errors = counter(r, 'beamgate_errors_total', 'Negative replies and internal failures by code', ['code']);
    this.authFailures = counter(
      r,
      'beamgate_auth_failures_total',
      'Failed authentications (BEEP SASL, RESP AUTH) by listener and reason: failed = bad credentials, locked = refused unchecked during a lockout',
      ['listener', 'reason'],
      [{ listener: 'beep', reason: 'failed' }, { listener: 'beep', reason: 'locked' }, { listener: 'resp', reason: 'failed' }, { listener: 'resp', reason: 'locked' }],
    );
    this.respDenied = counter(r, 'beamgate_resp_denied_total', 'RESP clients refused by protected mode (non-local, no users configured)');
  }
}

/** The current value of one series (tests, diagnostics): 0 when it was never set. */
export async function metricValue(m: Counter | Gauge, labels: Labels = {}): Promise<number> {
  const keys = Object.keys(labels);
  const v = (await m.get()).values.find((x) => keys.length === Object.keys(x.labels).length && keys.every((k) => String(x.labels[k]) === labels[k]));
  return v?.value ?? 0;
}

export interface MetricsServerOptions {
  host: string;
  port: number;
  registry: Registry;
  /** false while draining: /healthz answers 503. */
  healthy?: () => boolean;
}

export function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  return serveMetrics({ host: opts.host, port: opts.port }, opts.registry, opts.healthy ? { healthy: opts.healthy } : {});
}
