/**
 * A small Prometheus registry (text exposition format 0.0.4): counters and gauges with labels, and an HTTP
 * endpoint serving `GET /metrics` and `GET /healthz` (docs/gateway.md §6.2).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GatewayUsageError } from './errors.js';

export type Labels = Record<string, string>;
type MetricType = 'counter' | 'gauge';

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

abstract class Metric {
  protected readonly values = new Map<string, { labels: Labels; value: number }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: MetricType,
    readonly labelNames: readonly string[],
    /** Label values to show at 0 before they are first used (e.g. every `state`). */
    initial: Labels[] = [],
  ) {
    if (!NAME.test(name)) throw new GatewayUsageError(`bad metric name ${name}`);
    for (const l of labelNames) if (!LABEL.test(l) || l.startsWith('__')) throw new GatewayUsageError(`bad label name ${l}`);
    if (labelNames.length === 0) this.values.set('', { labels: {}, value: 0 });
    for (const l of initial) this.slot(l);
  }

  protected slot(labels: Labels): { labels: Labels; value: number } {
    // Runs several times per job: no intermediate arrays.
    const names = this.labelNames;
    let count = 0;
    for (const k in labels) if (Object.hasOwn(labels, k)) count++;
    let key = '';
    for (let i = 0; i < names.length; i++) {
      const n = names[i]!;
      const v = labels[n];
      if (v === undefined || !Object.hasOwn(labels, n)) count = -1;
      key = i === 0 ? String(v) : `${key}\u0000${v}`;
    }
    if (count !== names.length) throw new GatewayUsageError(`${this.name} takes labels ${names.join(', ') || '(none)'}`);
    let s = this.values.get(key);
    if (!s) {
      s = { labels: { ...labels }, value: 0 };
      this.values.set(key, s);
    }
    return s;
  }

  get(labels: Labels = {}): number {
    return this.slot(labels).value;
  }

  render(): string {
    let out = `# HELP ${this.name} ${this.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${this.name} ${this.type}\n`;
    for (const { labels, value } of this.values.values()) {
      const names = Object.keys(labels);
      const l = names.length ? `{${this.labelNames.map((n) => `${n}="${escapeLabel(labels[n]!)}"`).join(',')}}` : '';
      out += `${this.name}${l} ${formatValue(value)}\n`;
    }
    return out;
  }
}

export class Counter extends Metric {
  inc(labels: Labels = {}, by = 1): void {
    if (!(by >= 0)) throw new GatewayUsageError('a counter only goes up');
    this.slot(labels).value += by;
  }
}

export class Gauge extends Metric {
  set(labels: Labels, value: number): void {
    this.slot(labels).value = value;
  }
  inc(labels: Labels = {}, by = 1): void {
    this.slot(labels).value += by;
  }
  dec(labels: Labels = {}, by = 1): void {
    this.slot(labels).value -= by;
  }
}

export class Registry {
  private readonly metrics = new Map<string, Metric>();

  counter(name: string, help: string, labelNames: readonly string[] = [], initial: Labels[] = []): Counter {
    return this.add(new Counter(name, help, 'counter', labelNames, initial));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = [], initial: Labels[] = []): Gauge {
    return this.add(new Gauge(name, help, 'gauge', labelNames, initial));
  }

  private add<M extends Metric>(m: M): M {
    if (this.metrics.has(m.name)) throw new GatewayUsageError(`metric ${m.name} registered twice`);
    this.metrics.set(m.name, m);
    return m;
  }

  render(): string {
    let out = '';
    for (const m of this.metrics.values()) out += m.render();
    return out;
  }
}

/** The gateway's metrics (names and labels are part of the documented interface). */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly sessions = this.registry.gauge('beamgate_sessions', 'Open BEEP sessions');
  readonly sessionsTotal = this.registry.counter('beamgate_sessions_total', 'BEEP sessions accepted');
  readonly channels = this.registry.gauge('beamgate_channels', 'Open channels by profile', ['profile'], [{ profile: 'job' }, { profile: 'resp' }]);
  readonly channelsTotal = this.registry.counter('beamgate_channels_total', 'Channels started by profile', ['profile'], [{ profile: 'job' }, { profile: 'resp' }]);
  readonly jobs = this.registry.gauge('beamgate_jobs', 'Jobs held by the gateway by state', ['state'], [
    { state: 'created' },
    { state: 'running' },
    { state: 'detached' },
  ]);
  readonly jobsFinished = this.registry.counter('beamgate_jobs_finished_total', 'Jobs that ended by result', ['result'], [
    { result: 'exited' },
    { result: 'stopped' },
  ]);
  readonly bytes = this.registry.counter('beamgate_bytes_total', 'Payload octets of job data and RESP', ['direction', 'profile'], [
    { direction: 'in', profile: 'job' },
    { direction: 'out', profile: 'job' },
    { direction: 'in', profile: 'resp' },
    { direction: 'out', profile: 'resp' },
  ]);
  readonly errors = this.registry.counter('beamgate_errors_total', 'Negative replies and internal failures by code', ['code']);
  readonly authFailures = this.registry.counter(
    'beamgate_auth_failures_total',
    'Failed authentications (BEEP SASL, RESP AUTH) by listener and reason: failed = bad credentials, locked = refused unchecked during a lockout',
    ['listener', 'reason'],
    [{ listener: 'beep', reason: 'failed' }, { listener: 'beep', reason: 'locked' }, { listener: 'resp', reason: 'failed' }, { listener: 'resp', reason: 'locked' }],
  );
  readonly respDenied = this.registry.counter('beamgate_resp_denied_total', 'RESP clients refused by protected mode (non-local, no users configured)');
}

export interface MetricsServerOptions {
  host: string;
  port: number;
  render: () => string;
  /** false while draining: /healthz answers 503. */
  healthy?: () => boolean;
}

export interface MetricsServer {
  readonly server: Server;
  readonly address: AddressInfo;
  close(): Promise<void>;
}

export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      let body: string;
      try {
        body = opts.render();
      } catch {
        res.writeHead(500).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      res.end(req.method === 'HEAD' ? undefined : body);
    } else if (path === '/healthz') {
      const ok = opts.healthy ? opts.healthy() : true;
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'draining\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    address: server.address() as AddressInfo,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
