/** Command-line parsing and help texts of `beamgate` (docs/gateway.md §6). Pure: returns values, prints nothing. */
import { parseArgs } from 'node:util';
import { parseTarget, renameFlags } from '@beamgate/base';
import { ConfigError } from '../errors.js';
import { parseAddress, type Address, type ServeFlags } from '../config.js';
import { SECURITY_FLAG_NAMES, SECURITY_FLAG_OPTIONS } from '../security-config.js';
import { SCALE_FLAG_OPTIONS } from '../scale-config.js';
import { parseRunSecurity, RUN_SECURITY_OPTIONS, RUN_SECURITY_RENAMES, type RunSecurity } from './security-args.js';

/**
 * `beamgate serve` takes the TLS and user flags under the names beep and beam use; the configuration keeps its
 * own names (tls-cert, sasl-user, ...), which stay accepted on the command line too.
 */
export const SERVE_FLAG_ALIASES: Record<string, string> = { tls: 'tls-self-signed', cert: 'tls-cert', key: 'tls-key', cacert: 'tls-client-ca', user: 'sasl-user' };

export const MAIN_HELP = `Usage: beamgate <command> [options]

Commands:
  serve   run the gateway: BEEP listener (job and RESP profiles) on a Beam context
  run     run one job on a gateway over BEEP and relay its input, output and exit status

Options:
  -h, --help      show help (also: beamgate <command> --help)
  -V, --version   show the version

Exit status: 0 success, 1 failure, 2 usage or configuration error (or cannot connect);
beamgate run: the job's exit status. Documentation: docs/gateway.md, docs/cli.md
`;

export const SERVE_HELP = `Usage: beamgate serve [options]

Serve Beam jobs over BEEP (profile urn:beamgate:profile:job) and RESP over BEEP
(urn:beamgate:profile:resp). Precedence: flags > environment > config file > defaults.

Options:
  --beep HOST:PORT        BEEP listen address            [BEAMGATE_BEEP, default 127.0.0.1:10288]
  --resp HOST:PORT|off    plain RESP listener (embedded context only)
                                                         [BEAMGATE_RESP, default 127.0.0.1:6381]
  --context URL           'embedded' or redis://HOST:PORT[/DB]
                                                         [BEAMGATE_CONTEXT, default embedded]
  --cluster               the --context URL is a seed node of a Redis Cluster  [BEAMGATE_CLUSTER=1]
  --sentinel HOST:PORT,.. the context is the master these Sentinels name (with --master)
                                                         [BEAMGATE_SENTINEL]
  --master NAME           the Sentinels' master name     [BEAMGATE_MASTER]
  --worker                also run a Beam worker in this process (Redis contexts; it runs
                          --exec programs and the beep handler)  [BEAMGATE_WORKER=1]
  --exec NAMES            comma-separated programs the exec handler may run
                                                         [BEAMGATE_EXEC, default none]
  --config FILE           JSON configuration file        [BEAMGATE_CONFIG]
  --metrics HOST:PORT|off Prometheus /metrics endpoint   [BEAMGATE_METRICS, default off]
  --log-level LEVEL       silent, error, warn, info, debug
                                                         [BEAMGATE_LOG_LEVEL, default info]

TLS and SASL (BEEP tuning profiles; config keys tls, sasl, require, access, respTls):
  --tls                   offer TLS with a certificate generated at start; its path
                          and fingerprint are logged          [BEAMGATE_TLS_SELF_SIGNED=1]
  --cert FILE             offer TLS with this PEM certificate [BEAMGATE_TLS_CERT]
  --key FILE              PEM private key of --cert           [BEAMGATE_TLS_KEY]
  --cacert FILE           ask BEEP clients for a certificate signed by these CAs; SASL
                          EXTERNAL then takes its subject (CN=...) as the identity
                                                              [BEAMGATE_TLS_CLIENT_CA]
  --user NAME:PW          offer SASL (SCRAM-SHA-256, CRAM-MD5, PLAIN over TLS) for
                          this user, repeatable    [BEAMGATE_SASL_USERS, comma-separated]
                          (--tls-self-signed, --tls-cert, --tls-key and --sasl-user are
                          the same flags under their older names)
  --require-tls           other profiles only after TLS (554) [BEAMGATE_REQUIRE_TLS=1]
  --require-sasl          other starts refused until authenticated (530)
                                                              [BEAMGATE_REQUIRE_SASL=1]
  --allow-cleartext       accept SASL PLAIN without TLS       [BEAMGATE_ALLOW_CLEARTEXT=1]
  --allow-anonymous       offer SASL ANONYMOUS                [BEAMGATE_ALLOW_ANONYMOUS=1]
  --access ID=JOB[,JOB]   jobs identity ID may run (ID '*': any authenticated, empty:
                          unauthenticated; JOB '*': all), repeatable
                                                   [BEAMGATE_ACCESS, ';'-separated]
  --resp-tls              serve the --resp listener over TLS too, same certificate
                                                              [BEAMGATE_RESP_TLS=1]
  --context-ca FILE       PEM CA to trust for a rediss:// context
                                                              [BEAMGATE_CONTEXT_CA]
  --allow-beep-targets HOST:PORT[,HOST:PORT]
                          BEEP peers the 'beep' job handler may reach ('*': any);
                          repeatable; default none  [BEAMGATE_ALLOW_BEEP_TARGETS]

The RESP listener takes the --user users (AUTH NAME PW, HELLO 3 AUTH NAME PW); with any
user, or --require-sasl, it refuses other commands until then. --access applies to jobs
created there too; SHUTDOWN is refused (SIGTERM drains). Failed logins lock out the address
and the user for a growing time (config key authThrottle; docs/security.md).
  -h, --help              show this help
  -V, --version           print the version

Logs are JSON lines on stderr (time, level, name, msg, fields; human lines on a terminal).
SIGTERM or SIGINT drains channels and jobs, then exits 0. SIGHUP reads the certificate,
users and access rules again (flags, environment and --config file): sessions already
open keep theirs, new ones get the new.
`;

export const RUN_HELP = `Usage: beamgate run [--beep TARGET] [options] -- NAME [ARGS...]

Run job NAME with argv [NAME, ARGS...] on a gateway over BEEP. Standard input goes to the
job's stream 0, streams 1 and 2 to standard output and error; the exit status is the job's.
Programs run through the exec handler: beamgate run -- exec ls -l (the gateway needs --exec ls).

Options:
  --beep TARGET      the gateway: HOST:PORT, beep://HOST:PORT or beeps://HOST:PORT (TLS)
                                                   [BEAMGATE_BEEP, default 127.0.0.1:10288]
  --env K=V          set an environment variable of the job (repeatable)
  --detach           keep the job running if the connection is lost
  --no-input         give the job no input (do not read standard input)
  --tls              negotiate TLS first; the certificate is verified   [BEAMGATE_TLS=1]
  --cacert FILE      PEM CA certificate(s) to trust, e.g. the gateway's self-signed
                     certificate (logged by serve; implies --tls)      [BEAMGATE_CA]
  --cert FILE        PEM client certificate, with --key (implies --tls)
  --key FILE         PEM private key of --cert
  --sni NAME         name the certificate must match (SNI); default the host
  --insecure         do not verify the certificate (tests only)
  --user NAME        authenticate with SASL after TLS, with --pass
  --pass PW          password of --user
  --sasl NAME:PW     the same as --user NAME --pass PW                  [BEAMGATE_SASL]
  --mech MECH        SCRAM-SHA-256, CRAM-MD5, PLAIN or ANONYMOUS (default: strongest offered)
  --log-level LEVEL  debug prints stack traces of failures
  -h, --help         show this help
  -V, --version      print the version
(--ca and --servername are the older names of --cacert and --sni.)
`;

export type Command =
  | { command: 'help'; text: string }
  | { command: 'version' }
  | { command: 'serve'; flags: ServeFlags }
  | { command: 'run'; options: RunOptions };

export interface RunOptions extends RunSecurity {
  beep: Address;
  name: string;
  args: string[];
  env: Array<[string, string]>;
  detach: boolean;
  input: boolean;
}

function wrap<T>(command: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    // node:util parseArgs errors: ERR_PARSE_ARGS_UNKNOWN_OPTION and friends.
    throw new ConfigError(`beamgate ${command}: ${(err as Error).message}`, { cause: err });
  }
}

export function parseCommandLine(argv: readonly string[], env: Record<string, string | undefined> = {}): Command {
  const [first, ...rest] = argv;
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') return { command: 'help', text: MAIN_HELP };
  if (first === '-V' || first === '--version') return { command: 'version' };
  if (first === 'serve') return parseServe(rest);
  if (first === 'run') return parseRun(rest, env);
  throw new ConfigError(`beamgate: unknown command '${first}' (try beamgate --help)`);
}

function parseServe(argv: string[]): Command {
  const { values } = wrap('serve', () =>
    parseArgs({
      args: renameFlags(argv, SERVE_FLAG_ALIASES),
      strict: true,
      allowPositionals: false,
      options: {
        beep: { type: 'string' },
        resp: { type: 'string' },
        context: { type: 'string' },
        exec: { type: 'string' },
        config: { type: 'string' },
        metrics: { type: 'string' },
        'log-level': { type: 'string' },
        ...SECURITY_FLAG_OPTIONS,
        ...SCALE_FLAG_OPTIONS,
        help: { type: 'boolean', short: 'h' },
      },
    }),
  );
  if (values.help) return { command: 'help', text: SERVE_HELP };
  const flags: ServeFlags = {};
  for (const k of ['beep', 'resp', 'context', 'exec', 'config', 'metrics', 'log-level'] as const) {
    const v = values[k];
    if (v !== undefined) flags[k] = v;
  }
  for (const k of [...SECURITY_FLAG_NAMES, ...(Object.keys(SCALE_FLAG_OPTIONS) as Array<keyof typeof SCALE_FLAG_OPTIONS>)]) {
    const v = values[k];
    if (v !== undefined) (flags as Record<string, unknown>)[k] = v;
  }
  return { command: 'serve', flags };
}

function parseRun(argv: string[], env: Record<string, string | undefined>): Command {
  const { values, positionals } = wrap('run', () =>
    parseArgs({
      args: renameFlags(argv, RUN_SECURITY_RENAMES),
      strict: true,
      allowPositionals: true,
      options: {
        'log-level': { type: 'string' },
        beep: { type: 'string' },
        env: { type: 'string', multiple: true },
        detach: { type: 'boolean' },
        'no-input': { type: 'boolean' },
        ...RUN_SECURITY_OPTIONS,
        help: { type: 'boolean', short: 'h' },
      },
    }),
  );
  if (values.help) return { command: 'help', text: RUN_HELP };
  const [name, ...args] = positionals;
  if (name === undefined || name === '') throw new ConfigError('beamgate run: missing job NAME (beamgate run --beep HOST:PORT -- NAME ARGS...)');
  const fromEnv = env['BEAMGATE_BEEP'];
  const beepValue = values.beep ?? (fromEnv ? fromEnv : '127.0.0.1:10288');
  const source = values.beep !== undefined ? '--beep' : fromEnv ? 'BEAMGATE_BEEP' : 'default';
  let beep: Address;
  let beeps = false;
  if (/^beeps?:\/\//.test(beepValue)) {
    const t = wrap('run', () => parseTarget(beepValue, { schemes: ['beep', 'beeps'], defaultPort: 10288, what: source }));
    if (t.kind !== 'tcp') throw new ConfigError(`${source}: expected a TCP address`);
    beep = { host: t.host, port: t.port };
    beeps = t.tls;
  } else beep = parseAddress(beepValue, source);
  const jobEnv: Array<[string, string]> = [];
  for (const kv of values.env ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--env: expected K=V, got '${kv}'`);
    jobEnv.push([kv.slice(0, eq), kv.slice(eq + 1)]);
  }
  return {
    command: 'run',
    options: {
      beep, name, args, env: jobEnv, detach: values.detach === true, input: values['no-input'] !== true,
      ...parseRunSecurity(beeps ? { ...values, tls: true } : values, env),
    },
  };
}
