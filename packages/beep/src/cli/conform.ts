/** `beep conform`: check a live BEEP peer against the rules of test-vectors/rules.json. */
import { LOG_LEVEL_FLAG, secondsFlag } from '@beamgate/base';
import { checkListener } from '../conform/check-listener.js';
import { judgeInitiators } from '../conform/check-initiator.js';
import { exitStatus, formatReport, type RuleReport } from '../conform/report.js';
import { defaultVectorsDir } from '../conform/vectors.js';
import { parseTarget } from './connect.js';
import { log } from './log.js';
import { intOpt, parseCommand, stringOpt, UsageError, type CommandSpec } from './options.js';

export const CONFORM_SPEC: CommandSpec = {
  name: 'conform',
  usage: 'beep conform HOST:PORT [--echo URI] [--ans URI] [--tls] [--sasl USER:PASS] [--json]\n       beep conform --listen PORT [--sessions N] [--json]',
  summary:
    'Check a BEEP peer over the wire. With HOST:PORT we play the initiator against a listener and replay every\n' +
    'applicable session vector; with --listen we play the listener and judge the initiator that connects. One line\n' +
    'per rule: PASS, FAIL (with the octets that prove it) or N/A.',
  options: {
    listen: { type: 'string', arg: 'PORT', help: 'play the listener on 127.0.0.1:PORT and judge initiators (0 = ephemeral, logged)' },
    host: { type: 'string', arg: 'HOST', help: 'with --listen: address to bind (default 127.0.0.1)' },
    sessions: { type: 'string', arg: 'N', help: 'with --listen: report after N sessions (default 1)' },
    wait: { type: 'string', arg: 'SECONDS', help: 'with --listen: report after this long even if fewer sessions came (default 60)' },
    echo: { type: 'string', arg: 'URI', help: "the peer's echo profile (RPY with the MSG's entity; default the beamgate test profile if offered)" },
    ans: { type: 'string', arg: 'URI', help: "the peer's ANS/NUL profile (body N,SIZE gives N ANS of SIZE octets, then NUL)" },
    hold: { type: 'string', arg: 'URI', help: "the peer's profile that never answers" },
    'echo-content': { type: 'boolean', help: 'the --echo profile returns piggybacked start content in its reply' },
    'ans-probe': { type: 'string', arg: 'URI', help: 'also start URI, send --ans-body and judge the one-to-many reply' },
    'ans-body': { type: 'string', arg: 'TEXT', help: 'body of the --ans-probe message (default "3,5")' },
    tls: { type: 'boolean', help: 'the peer offers TLS: run the TLS vectors (no handshake is made)' },
    sasl: { type: 'string', arg: 'USER:PASS', help: 'the peer accepts these credentials, PLAIN in the clear: run the SASL vectors' },
    'sasl-anonymous': { type: 'boolean', help: 'the peer accepts SASL ANONYMOUS' },
    iut: { type: 'string', arg: 'NAME', help: "also run vectors that pin NAME's exact output (e.g. beamgate)" },
    rule: { type: 'string', multiple: true, arg: 'ID', help: 'only the vectors of this rule (repeatable)' },
    timeout: { type: 'string', arg: 'SECONDS', help: 'longest wait for one expected reply (default 2; decimals allowed)' },
    'vector-timeout': { type: 'string', arg: 'SECONDS', help: 'longest run of one vector (default 10)' },
    quiet: { type: 'string', arg: 'SECONDS', help: 'how long "expect nothing" watches (default 0.15)' },
    concurrency: { type: 'string', arg: 'N', help: 'vectors run at once, each on its own connection (default 4)' },
    vectors: { type: 'string', arg: 'DIR', help: 'test-vectors directory (default the repository copy)' },
    json: { type: 'boolean', help: 'print the report as one JSON object' },
    verbose: { type: 'boolean', short: 'v', help: 'print every vector as it runs (stderr) and every failure' },
    ...LOG_LEVEL_FLAG,
    help: { type: 'boolean', short: 'h', help: 'show this help' },
  },
  notes: 'Exit status: 0 when every applicable MUST rule holds, 1 when one fails, 2 usage or connection error.',
};

function print(reports: RuleReport[], json: boolean, verbose: boolean, extra: Record<string, unknown>): number {
  const status = exitStatus(reports);
  if (json) process.stdout.write(JSON.stringify({ ...extra, status, rules: reports }) + '\n');
  else process.stdout.write(formatReport(reports, { verbose }));
  return status;
}

/** A peer that cannot be reached is a connection error (exit 2), not a verdict. */
async function reachable<T>(what: string, p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === undefined || !/^E[A-Z]+$/.test(code)) throw e;
    process.stderr.write(`beep conform: cannot reach ${what}: ${(e as Error).message}\n`);
    return undefined;
  }
}

export async function runConform(argv: string[]): Promise<number> {
  const parsed = parseCommand(CONFORM_SPEC, argv);
  if (parsed === undefined) return 0;
  const { values, positionals } = parsed;
  const json = values['json'] === true;
  const verbose = values['verbose'] === true;
  const stepTimeout = secondsFlag('timeout', stringOpt(values, 'timeout'), { max: 600 }) ?? 2000;
  const vectorsDir = stringOpt(values, 'vectors') ?? defaultVectorsDir();
  const listenPort = intOpt(values, 'listen', 0, 65535);
  if (listenPort !== undefined) {
    if (positionals.length) throw new UsageError('--listen takes no HOST:PORT');
    const r = await judgeInitiators({
      host: stringOpt(values, 'host') ?? '127.0.0.1',
      port: listenPort,
      sessions: intOpt(values, 'sessions', 1, 1000) ?? 1,
      waitMs: (intOpt(values, 'wait', 1, 86400) ?? 60) * 1000,
      stepTimeout,
      vectorsDir,
      onListening: (port) => log('listening', { host: stringOpt(values, 'host') ?? '127.0.0.1', port }),
    });
    return print(r.reports, json, verbose, { role: 'listener', sessions: r.sessions });
  }
  if (positionals.length !== 1) throw new UsageError('HOST:PORT (or --listen PORT) is required');
  const target = parseTarget(positionals[0], undefined);
  if ('path' in target) throw new UsageError('HOST:PORT is required');
  const probeUri = stringOpt(values, 'ans-probe');
  const sasl = stringOpt(values, 'sasl');
  if (sasl !== undefined && !sasl.includes(':')) throw new UsageError('--sasl expects USER:PASS');
  const r = await reachable(`${target.host}:${target.port}`, checkListener({
    target,
    vectorsDir,
    stepTimeout,
    vectorTimeout: secondsFlag('vector-timeout', stringOpt(values, 'vector-timeout'), { max: 3600 }) ?? 10000,
    quietMs: secondsFlag('quiet', stringOpt(values, 'quiet'), { max: 60 }) ?? 150,
    concurrency: intOpt(values, 'concurrency', 1, 64) ?? 4,
    ...(stringOpt(values, 'echo') !== undefined ? { echo: stringOpt(values, 'echo') as string } : {}),
    ...(stringOpt(values, 'ans') !== undefined ? { ans: stringOpt(values, 'ans') as string } : {}),
    ...(stringOpt(values, 'hold') !== undefined ? { hold: stringOpt(values, 'hold') as string } : {}),
    ...(probeUri !== undefined ? { ansProbe: { uri: probeUri, body: stringOpt(values, 'ans-body') ?? '3,5' } } : {}),
    tls: values['tls'] === true,
    echoContent: values['echo-content'] === true,
    ...(sasl !== undefined ? { sasl } : {}),
    saslAnonymous: values['sasl-anonymous'] === true,
    ...(stringOpt(values, 'iut') !== undefined ? { iut: stringOpt(values, 'iut') as string } : {}),
    ...(Array.isArray(values['rule']) ? { only: values['rule'] as string[] } : {}),
    ...(verbose
      ? {
          onVector: (v, out) =>
            process.stderr.write(
              `${out.status.toUpperCase().padEnd(4)} ${v.id}${out.status === 'n/a' ? ` (${out.reason})` : out.status === 'fail' ? ` step ${out.step}: expected ${JSON.stringify(out.expected)} got ${JSON.stringify(out.got)}` : ''}\n`,
            ),
        }
      : {}),
  }));
  if (r === undefined) return 2;
  return print(r.reports, json, verbose, { role: 'initiator', target: `${target.host}:${target.port}`, peerProfiles: r.greeting?.profiles ?? null });
}
