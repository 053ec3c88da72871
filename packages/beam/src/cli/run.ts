import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { BeamClient } from '../client/beam-client.js';
import { renameFlags, UsageError } from '@beamgate/base';
import { setLogLevel } from './log.js';
import { clientTlsFrom, RUN_TLS_OPTIONS } from './tls-flags.js';

export const RUN_HELP = `Usage: beam run [options] -- NAME [ARG...]

Run job NAME with argv NAME ARG... on a Beam server, stream its stdout/stderr, and exit with its status.
Standard input is sent to the job's stream 0 when it is not a terminal.

Options:
  --url URL         server: redis://[[USER]:PASS@]HOST:PORT, rediss://... (TLS) or unix:/path
                    (default $BEAM_URL or redis://127.0.0.1:6380)
  --env K=V         set an environment variable of the job (repeatable)
  --user NAME       ACL user to AUTH as, with --pass (default: the default user)
  --pass PW         AUTH password (--password still accepted)
  --tls             connect with TLS (as rediss://); the certificate is verified
  --cacert FILE     PEM CA certificate(s) to trust, e.g. a beam serve --tls server's (implies --tls)
  --cert FILE       PEM client certificate, with --key (implies --tls)
  --key FILE        PEM private key of --cert
  --sni NAME        name the certificate must match; default the host (implies --tls)
  --insecure        do not verify the certificate (tests only; implies --tls)
  --log-level LEVEL silent, error, warn, info or debug (debug: stack traces of failures)
  -h, --help        show this help
  -V, --version     print the version

Exit status: the job's, or 125 when beam itself fails (connection, protocol error).
First Ctrl-C sends INT to the job, a second sends KILL.
`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: renameFlags(argv, { password: 'pass' }),
    options: {
      url: { type: 'string' },
      env: { type: 'string', multiple: true, default: [] },
      user: { type: 'string' },
      pass: { type: 'string' },
      'log-level': { type: 'string' },
      ...RUN_TLS_OPTIONS,
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) {
    process.stdout.write(RUN_HELP);
    return 0;
  }
  setLogLevel(values['log-level']);
  if (positionals.length === 0) throw new UsageError('beam run: missing job NAME (beam run -- NAME ARG...)');
  const env: Record<string, string> = {};
  for (const kv of values.env) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageError(`--env expects K=V, got '${kv}'`);
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const url = values.url ?? process.env.BEAM_URL ?? 'redis://127.0.0.1:6380';
  if (values.user !== undefined && values.pass === undefined) throw new UsageError('--user needs --pass');
  const tls = clientTlsFrom(values);
  const client = new BeamClient({ url }, {
    ...(values.pass !== undefined ? { password: values.pass } : {}),
    ...(values.user !== undefined ? { username: values.user } : {}),
    ...(tls ? { tls } : {}),
  });
  await client.connect();
  try {
    const job = await client.run(positionals, {
      env,
      ...(process.stdin.isTTY ? {} : { stdin: process.stdin }),
    });
    let interrupts = 0;
    const onSigint = (): void => {
      void job.kill(++interrupts === 1 ? 'INT' : 'KILL');
    };
    const onSigterm = (): void => void job.kill('TERM');
    process.on('SIGINT', onSigint);
    process.on('SIGTERM', onSigterm);
    const piped = [pipeTo(job.stdout, process.stdout), pipeTo(job.stderr, process.stderr)];
    try {
      const status = await job.exit;
      await Promise.all(piped);
      return status;
    } finally {
      process.off('SIGINT', onSigint);
      process.off('SIGTERM', onSigterm);
      if (!process.stdin.isTTY) process.stdin.destroy();
    }
  } finally {
    await client.close();
  }
}

/** Copies a job stream to a process stream, honouring back-pressure, without ending the target. */
async function pipeTo(from: NodeJS.ReadableStream, to: NodeJS.WritableStream): Promise<void> {
  for await (const chunk of from) {
    if (!to.write(chunk as Buffer)) await once(to, 'drain');
  }
}
