import { expect } from 'chai';
import { GatewayMetrics, Registry, startMetricsServer, type MetricsServer } from '../src/metrics.js';
import { GatewayUsageError } from '../src/errors.js';

describe('gateway metrics', () => {
  it('renders counters and gauges with labels in Prometheus text format', () => {
    const r = new Registry();
    const c = r.counter('t_requests_total', 'Requests', ['code']);
    const g = r.gauge('t_open', 'Open things');
    c.inc({ code: '501' });
    c.inc({ code: '501' }, 2);
    c.inc({ code: 'a"b\\c\nd' });
    g.inc();
    g.inc();
    g.dec();
    expect(r.render()).to.equal(
      '# HELP t_requests_total Requests\n# TYPE t_requests_total counter\nt_requests_total{code="501"} 3\n' +
        't_requests_total{code="a\\"b\\\\c\\nd"} 1\n# HELP t_open Open things\n# TYPE t_open gauge\nt_open 1\n',
    );
    expect(() => c.inc({ code: '1' }, -1)).to.throw(GatewayUsageError);
    expect(() => c.inc({ other: '1' })).to.throw(GatewayUsageError);
    expect(() => c.inc({ code: '1', other: '2' })).to.throw(GatewayUsageError);
    expect(() => c.inc({})).to.throw(GatewayUsageError);
    expect(() => c.inc(Object.create({ code: '1' }) as Record<string, string>)).to.throw(GatewayUsageError);
    expect(() => g.inc({ code: '1' })).to.throw(GatewayUsageError);
    expect(() => r.counter('t_open', 'dup')).to.throw(GatewayUsageError);
    expect(() => r.counter('bad name', 'x')).to.throw(GatewayUsageError);
  });

  it('declares the documented gateway metrics with zero values', () => {
    const m = new GatewayMetrics();
    const text = m.registry.render();
    for (const line of [
      'beamgate_sessions 0', 'beamgate_sessions_total 0', 'beamgate_channels{profile="job"} 0', 'beamgate_channels_total{profile="resp"} 0',
      'beamgate_jobs{state="running"} 0', 'beamgate_jobs_finished_total{result="exited"} 0', 'beamgate_bytes_total{direction="out",profile="job"} 0',
      '# TYPE beamgate_errors_total counter',
    ]) expect(text).to.include(line + '\n');
  });

  describe('HTTP endpoint', () => {
    let server: MetricsServer | undefined;
    let healthy = true;
    afterEach(async () => {
      await server?.close();
      server = undefined;
    });

    it('rejects with EADDRINUSE when the port is taken', async () => {
      server = await startMetricsServer({ host: '127.0.0.1', port: 0, render: () => '' });
      let err: unknown;
      try {
        await startMetricsServer({ host: '127.0.0.1', port: server.address.port, render: () => '' });
      } catch (e) {
        err = e;
      }
      expect(err).to.have.property('code', 'EADDRINUSE');
    });

    it('serves /metrics and /healthz, 404 elsewhere', async () => {
      const m = new GatewayMetrics();
      m.sessions.inc();
      server = await startMetricsServer({ host: '127.0.0.1', port: 0, render: () => m.registry.render(), healthy: () => healthy });
      const base = `http://127.0.0.1:${server.address.port}`;
      const res = await fetch(`${base}/metrics`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/^text\/plain; version=0.0.4/);
      expect(await res.text()).to.include('beamgate_sessions 1\n');
      expect((await fetch(`${base}/healthz`)).status).to.equal(200);
      healthy = false;
      const h = await fetch(`${base}/healthz`);
      expect(h.status).to.equal(503);
      expect(await h.text()).to.equal('draining\n');
      expect((await fetch(`${base}/nope`)).status).to.equal(404);
      expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).to.equal(405);
    });
  });
});
