import type { AddressInfo } from 'node:net';
import { attachJobs, type AttachJobsOptions, type JobEngine } from '../../src/jobs/engine.js';
import { createServer, type BeamServer, type BeamServerOptions } from '../../src/server/server.js';

/** A real RESP server on 127.0.0.1, ephemeral port, with a job engine on every context. */
export async function startServer(
  jobs: Omit<AttachJobsOptions, 'dispatcher'> = {},
  server: BeamServerOptions = {},
): Promise<{ server: BeamServer; port: number; engines: JobEngine[]; close: () => Promise<void> }> {
  const engines: JobEngine[] = [];
  const s = createServer({
    host: '127.0.0.1',
    port: 0,
    ...server,
    setup: (dispatcher, context) => {
      engines.push(attachJobs(context, { dispatcher, ...jobs }));
    },
  });
  const address = await s.listen();
  const port = typeof address === 'string' ? 0 : (address as AddressInfo).port;
  return {
    server: s,
    port,
    engines,
    close: async () => {
      await Promise.all(engines.map((e) => e.close()));
      await s.close();
    },
  };
}

export async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as string));
  return Buffer.concat(chunks).toString('utf8');
}
