/** Command-line parsing and help texts of `beamgate` (docs/gateway.md §6). Pure: returns values, prints nothing. */
import { parseArgs } from 'node:util';
import { ConfigError } from '../errors.js';
import { parseAddress, type Address, type ServeFlags } from '../config.js';
import { SECURITY_FLAG_NAMES, SECURITY_FLAG_OPTIONS } from '../security-config.js';
import { SCALE_FLAG_OPTIONS } from '../scale-config.js';
import { parseRunSecurity, RUN_SECURITY_OPTIONS, type RunSecurity } from './security-args.js';

export const MAIN_HELP = `Usage: beamgate <command> [options]

Commands:
  serve   run the gateway: BEEP listener (job and RESP profiles) on a Beam context
  run     run one job on a gateway over BEEP and relay its input, output and exit status

Options:
  -h, --help      show help (also: beamgate <command> --help)
  -V, --version   show the version

Documentation: docs/gateway.md
`;

export const SERVE_HELP = `Usage: beamgate serve [options]

Serve Beam jobs over BEEP (profile urn:beamgate:profile:job) and RESP over BEEP
(urn:beamgate:profile:resp). Precedence: flags > environment > config file > defaults.

Options:
  --beep HOST:PORT        BEEP listen address            [BEAMGATE_BEEP, default 127.0.0.1:10288]
  --resp HOST:PORT|off    plain RESP listener (embedded context only)
                                                         [BEAMGATE_RESP, default 127.0.0.1:6380]
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
  --tls-self-signed       offer TLS with a certificate generated at start; its path
                          and fingerprint are logged          [BEAMGATE_TLS_SELF_SIGNED=1]
  --tls-cert FILE         offer TLS with this PEM certificate [BEAMGATE_TLS_CERT]
  --tls-key FILE          PEM private key of --tls-cert       [BEAMGATE_TLS_KEY]
  --sasl-user NAME:PW     offer SASL (SCRAM-SHA-256, CRAM-MD5, PLAIN over TLS) for
                          this user, repeatable    [BEAMGATE_SASL_USERS, comma-separated]
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

The RESP listener takes the --sasl-user users (AUTH NAME PW, HELLO 3 AUTH NAME PW); with any
user, or --require-sasl, it refuses other commands until then. --access applies to jobs
created there too; SHUTDOWN is refused (SIGTERM drains). Failed logins lock out the address
and the user for a growing time (config key authThrottle; docs/security.md).
  -h, --help              show this help

Logs are JSON lines on stdout. SIGTERM or SIGINT drains channels and jobs, then exits.
`;

export const RUN_HELP = `Usage: beamgate run --beep HOST:PORT [options] -- NAME [ARGS...]

Run job NAME with argv [NAME, ARGS...] on a gateway over BEEP. Standard input goes to the
job's stream 0, streams 1 and 2 to standard output and error; the exit status is the job's.

Options:
  --beep HOST:PORT   the gateway's BEEP address       [BEAMGATE_BEEP, default 127.0.0.1:10288]
  --env K=V          set an environment variable of the job (repeatable)
  --detach           keep the job running if the connection is lost
  --no-input         give the job no input (do not read standard input)
  --tls              negotiate TLS first; the certificate is verified   [BEAMGATE_TLS=1]
  --ca FILE          PEM CA certificate(s) to trust, e.g. the gateway's self-signed
                     certificate (logged by serve)                     [BEAMGATE_CA]
  --servername NAME  name the certificate must match (SNI); default the host
  --insecure         do not verify the certificate (tests only)
  --sasl NAME:PW     authenticate with SASL after TLS                  [BEAMGATE_SASL]
  --mech MECH        SCRAM-SHA-256, CRAM-MD5, PLAIN or ANONYMOUS (default: strongest offered)
  -h, --help         show this help
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
      args: argv,
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
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
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
  const beep = parseAddress(beepValue, values.beep !== undefined ? '--beep' : fromEnv ? 'BEAMGATE_BEEP' : 'default');
  const jobEnv: Array<[string, string]> = [];
  for (const kv of values.env ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--env: expected K=V, got '${kv}'`);
    jobEnv.push([kv.slice(0, eq), kv.slice(eq + 1)]);
  }
  return {
    command: 'run',
    options: { beep, name, args, env: jobEnv, detach: values.detach === true, input: values['no-input'] !== true, ...parseRunSecurity(values, env) },
  };
}
