/** `beamgate serve`: start the gateway from flags, environment and config file; drain on SIGTERM/SIGINT. */
import { formatAddress, loadConfig, type ServeFlags } from '../config.js';
import { isLoopbackBind } from '@beamgate/beam';
import { bindError } from '@beamgate/base';
import { startGateway, type Gateway } from '../gateway.js';
import { createLogger } from '../log.js';
import { publishCertificate } from './certificate-file.js';

export async function serve(flags: ServeFlags, env: Record<string, string | undefined>): Promise<number> {
  const config = loadConfig({ flags, env });
  const log = createLogger({ name: 'beamgate', level: config.logLevel });
  // One failed promise somewhere must not take every session down: log it and keep serving.
  process.on('unhandledRejection', (e: unknown) => log.error('unhandled rejection', { err: e }));
  let gateway: Gateway;
  try {
    gateway = await startGateway({
    beep: config.beep,
    resp: config.resp,
    context: config.context,
    exec: config.exec,
    metrics: config.metrics,
    limits: config.limits,
    security: config.security,
    ...(config.access ? { access: config.access } : {}),
    ...(config.respTls ? { respTls: true } : {}),
    allowBeepTargets: config.allowBeepTargets,
    ...(config.authThrottle !== undefined ? { authThrottle: config.authThrottle } : {}),
    ...(config.worker ? { worker: true } : {}),
    logger: log,
    });
  } catch (e) {
    throw startHint(e);
  }
  let cert = gateway.certificate ? publishCertificate(gateway.certificate) : undefined;
  const tlsFields = cert ? { tls: true, certFile: cert.path, fingerprint256: cert.fingerprint256 } : { tls: false };
  const beep = gateway.beepAddress;
  log.info('listening', {
    component: 'beep',
    address: formatAddress({ host: beep.address, port: beep.port }),
    profiles: ['urn:beamgate:profile:job', 'urn:beamgate:profile:resp'],
    ...tlsFields,
    sasl: config.security.sasl ? config.security.sasl.users.map((u) => u.slice(0, u.indexOf(':'))) : [],
    require: { tls: config.security.require?.tls === true, sasl: config.security.require?.sasl === true },
  });
  const resp = gateway.respAddress;
  if (resp) {
    const users = config.security.sasl?.users.length ?? 0;
    const auth = users > 0 || config.security.require?.sasl === true;
    log.info('listening', {
      component: 'resp', address: formatAddress({ host: resp.address, port: resp.port }), ...(config.respTls ? tlsFields : { tls: false }), auth,
    });
    if (!auth && !isLoopbackBind(resp.address)) {
      log.warn('protected mode: the RESP listener has no users, so only clients from 127.0.0.1 and ::1 are served; '
        + 'add --sasl-user to serve other hosts', { component: 'resp' });
    }
  }
  log.info('beep handler', { allowBeepTargets: config.allowBeepTargets });
  const m = gateway.metricsAddress;
  if (m) log.info('listening', { component: 'metrics', address: formatAddress({ host: m.address, port: m.port }) });
  log.info('context', config.context.kind === 'embedded' ? { kind: 'embedded', exec: config.exec } : { kind: 'remote', url: config.context.url.replace(/\/\/[^@/]*@/, '//***@'), worker: config.worker });
  // One line a person reads first (human on a terminal): where it listens and a command to try.
  const beepAt = formatAddress({ host: beep.address, port: beep.port });
  const respAt = resp ? formatAddress({ host: resp.address, port: resp.port }) : undefined;
  const tls = cert ? ` --cacert ${cert.path}` : '';
  const tryIt = config.exec.length > 0
    ? `npx beamgate run --beep ${beepAt}${tls} -- exec ${config.exec[0]}`
    : `npx beamgate run --beep ${beepAt}${tls} -- echo hello${respAt ? `, or redis-cli -p ${resp!.port} PING` : ''}`;
  log.info(`ready: BEEP on ${beepAt}${respAt ? `, RESP on ${respAt}` : ''}${m ? `, metrics on http://${formatAddress({ host: m.address, port: m.port })}/metrics` : ''}; try: ${tryIt}`
    + (config.exec.length === 0 ? ' (add --exec PROGRAM to let jobs run programs)' : ''));

  // SIGHUP: flags, environment and the --config file again; a broken new configuration keeps the old one.
  process.on('SIGHUP', () => {
    try {
      const next = loadConfig({ flags, env });
      gateway.reloadSecurity(next.security, next.access);
      const old = cert;
      cert = gateway.certificate ? publishCertificate(gateway.certificate) : undefined;
      if (old?.path !== cert?.path) old?.remove();
      if (cert) log.info('certificate', { certFile: cert.path, fingerprint256: cert.fingerprint256 });
    } catch (e) {
      log.error('reload failed: keeping the previous certificate, users and access rules', { err: e });
    }
  });

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) {
        log.warn('second signal: exiting now', { signal });
        cert?.remove();
        resolve(1);
        return;
      }
      stopping = true;
      log.info('shutting down', { signal });
      gateway.close(config.shutdownTimeoutMs).then(
        () => {
          cert?.remove();
          resolve(0);
        },
        (e: unknown) => {
          log.error('shutdown failed', { err: e });
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}

/** A listener that cannot bind names the flag (and environment variable) that picks another address. */
function startHint(e: unknown): unknown {
  const cause = (e as { cause?: unknown }).cause;
  const message = (e as Error).message ?? '';
  const flag = /BEEP listener/.test(message) ? '--beep HOST:PORT (BEAMGATE_BEEP)'
    : /RESP listener/.test(message) ? '--resp HOST:PORT or --resp off (BEAMGATE_RESP)'
      : /metrics listener/.test(message) ? '--metrics HOST:PORT (BEAMGATE_METRICS)' : undefined;
  if (flag === undefined || cause === undefined) return e;
  const mapped = bindError(cause, flag);
  return mapped === cause ? e : mapped;
}
