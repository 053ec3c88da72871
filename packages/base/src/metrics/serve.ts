/** The HTTP endpoint of `--metrics HOST:PORT`: `GET /metrics` (Prometheus text format) and `GET /healthz`. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { parseHostPort } from '../cli/target.js';

export interface MetricsServer {
  readonly server: Server;
  readonly address: AddressInfo;
  close(): Promise<void>;
}

export interface ServeMetricsOptions {
  /** false while draining: /healthz answers 503. */
  healthy?: () => boolean;
  /** Extra text appended to /metrics (series kept outside the registry). */
  extra?: () => string;
}

/** Serve `registry` on `hostPort` (`HOST:PORT`, `:PORT` or `{ host, port }`; port 0 picks a free one). */
export async function serveMetrics(
  hostPort: string | { host: string; port: number },
  registry: Registry,
  options: ServeMetricsOptions = {},
): Promise<MetricsServer> {
  const { host, port } = typeof hostPort === 'string' ? parseHostPort(hostPort, '--metrics') : hostPort;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/metrics') {
      registry.metrics().then(
        (body) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(req.method === 'HEAD' ? undefined : body + (options.extra?.() ?? ''));
        },
        () => res.writeHead(500).end(),
      );
    } else if (path === '/healthz') {
      const ok = options.healthy ? options.healthy() : true;
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'draining\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
    }
  });
  server.headersTimeout = 10_000;
  server.requestTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
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
