import { expect } from 'chai';
import { GatewayMetrics, metricValue, startMetricsServer, type MetricsServer } from '../src/metrics.js';

describe('gateway metrics (prom-client)', () => {
  it('declares the documented gateway metrics with zero values, and histograms', async () => {
    const m = new GatewayMetrics({ defaults: false });
    const text = await m.registry.metrics();
    for (const line of [
      'beamgate_sessions 0', 'beamgate_sessions_total 0', 'beamgate_channels{profile="job"} 0', 'beamgate_channels_total{profile="resp"} 0',
      'beamgate_jobs{state="running"} 0', 'beamgate_jobs_finished_total{result="exited"} 0', 'beamgate_bytes_total{direction="out",profile="job"} 0',
      '# TYPE beamgate_errors_total counter', '# TYPE beamgate_session_duration_seconds histogram', '# TYPE beamgate_job_duration_seconds histogram',
    ]) expect(text).to.include(line + '\n');
    m.jobs.inc({ state: 'running' });
    expect(await metricValue(m.jobs, { state: 'running' })).to.equal(1);
    expect(await metricValue(m.errors, { code: '550' })).to.equal(0);
  });

  describe('HTTP endpoint', () => {
    let server: MetricsServer | undefined;
    let healthy = true;
    afterEach(async () => {
      await server?.close();
      server = undefined;
    });

    it('rejects with EADDRINUSE when the port is taken', async () => {
      const m = new GatewayMetrics({ defaults: false });
      server = await startMetricsServer({ host: '127.0.0.1', port: 0, registry: m.registry });
      let err: unknown;
      try {
        await startMetricsServer({ host: '127.0.0.1', port: server.address.port, registry: m.registry });
      } catch (e) {
        err = e;
      }
      expect(err).to.have.property('code', 'EADDRINUSE');
    });

    it('serves /metrics with the process metrics, and /healthz, 404 elsewhere', async () => {
      const m = new GatewayMetrics();
      m.sessions.inc();
      server = await startMetricsServer({ host: '127.0.0.1', port: 0, registry: m.registry, healthy: () => healthy });
      const base = `http://127.0.0.1:${server.address.port}`;
      const res = await fetch(`${base}/metrics`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/^text\/plain; version=0.0.4/);
      const text = await res.text();
      expect(text).to.include('beamgate_sessions 1\n');
      expect(text).to.match(/^process_cpu_seconds_total /m);
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
