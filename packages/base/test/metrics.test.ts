import { expect } from 'chai';
import { createMetricsRegistry, Histogram, serveMetrics, type MetricsServer } from '../src/index.js';

describe('base: metrics', () => {
  let server: MetricsServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('serves the default process metrics and a histogram on /metrics, and /healthz', async () => {
    const registry = createMetricsRegistry();
    const h = new Histogram({ name: 'beamgate_test_seconds', help: 'test', registers: [registry] });
    h.observe(0.02);
    let healthy = true;
    server = await serveMetrics('127.0.0.1:0', registry, { healthy: () => healthy });
    const base = `http://127.0.0.1:${server.address.port}`;
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).to.match(/^process_cpu_seconds_total \d/m);
    expect(text).to.match(/^beamgate_test_seconds_count 1$/m);
    expect((await fetch(`${base}/healthz`)).status).to.equal(200);
    healthy = false;
    expect((await fetch(`${base}/healthz`)).status).to.equal(503);
    expect((await fetch(`${base}/nope`)).status).to.equal(404);
  });
});
