/** `beamgate run`: run one job on a gateway over BEEP, relaying stdin, stdout, stderr and the exit status. */
import { readPemFlag } from '@beamgate/base';
import type { ConnectOptions } from '@beamgate/beep';
import { GatewayClient } from '../client/gateway-client.js';
import type { RunOptions } from './args.js';

/** `--tls --ca --servername --insecure --sasl --mech` as connect() options. */
function securityOptions(opts: RunOptions): Pick<ConnectOptions, 'tls' | 'sasl'> {
  const out: Pick<ConnectOptions, 'tls' | 'sasl'> = {};
  if (opts.tls) {
    out.tls = {
      host: opts.beep.host,
      ...(opts.tls.caFile !== undefined ? { ca: readPemFlag('cacert', opts.tls.caFile) } : {}),
      ...(opts.tls.certFile !== undefined && opts.tls.keyFile !== undefined
        ? { cert: readPemFlag('cert', opts.tls.certFile), key: readPemFlag('key', opts.tls.keyFile) }
        : {}),
      ...(opts.tls.servername !== undefined ? { servername: opts.tls.servername } : {}),
      ...(opts.tls.insecure ? { rejectUnauthorized: false } : {}),
    };
  }
  if (opts.sasl) out.sasl = opts.sasl;
  return out;
}

export async function runJob(opts: RunOptions): Promise<number> {
  let client: GatewayClient;
  try {
    client = await GatewayClient.connect({ host: opts.beep.host, port: opts.beep.port }, { signal: AbortSignal.timeout(10_000), ...securityOptions(opts) });
  } catch (e) {
    const code = (e as { replyCode?: number }).replyCode;
    const reply = code !== undefined && !(e as Error).message.includes(String(code)) ? `${code} ` : '';
    process.stderr.write(`beamgate run: cannot connect to ${opts.beep.host}:${opts.beep.port}: ${reply}${(e as Error).message}\n`);
    return 2;
  }
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const job = await client.run([opts.name, ...opts.args], {
      env: Object.fromEntries(opts.env),
      detach: opts.detach,
      signal: abort.signal,
      ...(opts.input ? { stdin: process.stdin } : {}),
    });
    job.stdout.pipe(process.stdout);
    job.stderr.pipe(process.stderr);
    const status = await job.exit;
    await Promise.all(
      [job.stdout, job.stderr].map((s) => new Promise<void>((r) => (s.readableEnded ? r() : s.once('end', () => r())))),
    );
    if (opts.input) process.stdin.destroy();
    return status & 255;
  } catch (e) {
    const code = (e as { replyCode?: number }).replyCode;
    process.stderr.write(`beamgate run: ${code ? `${code} ` : ''}${(e as Error).message}\n`);
    const hint = refusalHint(code, opts.name, opts.args);
    if (hint) process.stderr.write(`beamgate run: hint: ${hint}\n`);
    return 2;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await client.close().catch(() => client.session.destroy());
  }
}

/** What to do about a refused job: the gateway runs programs only through its exec handler and --exec list. */
export function refusalHint(code: number | undefined, name: string, args: readonly string[]): string | undefined {
  if (code === 550 && name !== 'exec') {
    return `'${name}' is not a job handler; to run the program ${name}, use the exec handler: beamgate run -- exec ${[name, ...args].join(' ')} `
      + `(the gateway must be started with --exec ${name})`;
  }
  if (code === 537 && name === 'exec') {
    const program = args[0] ?? 'PROGRAM';
    return `this gateway may not run ${program}: start it with --exec ${program} (comma-separated list; or BEAMGATE_EXEC, config key exec)`;
  }
  return undefined;
}
