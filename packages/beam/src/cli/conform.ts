/** `beam conform redis://HOST:PORT`: check a Beam server against the BEAM.* rules of test-vectors/rules.json. */
import { parseArgs } from 'node:util';
import { beamExitStatus, checkBeam, defaultVectorsDir, formatBeamReport } from '../conform/check.js';
import { secondsFlag, UsageError } from '@beamgate/base';

export const CONFORM_HELP = `Usage: beam conform redis://HOST:PORT [--timeout SECONDS] [--vectors DIR] [--json]

Replay the Beam job transcripts (test-vectors/beam/job-transcripts.json) against a live Beam server, probe SYNC and
the reserved /beam keys, and print one line per rule: PASS, FAIL (with what came back) or N/A.

Options:
  --timeout SECONDS  longest wait for one reply, BLPOP included (default 5; decimals allowed)
  --vectors DIR      test-vectors directory (default the repository copy)
  --json             print the report as one JSON object
  -h, --help         show this help

Exit status: 0 when every applicable MUST rule holds, 1 when one fails, 2 usage error.
`;

export async function conform(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { timeout: { type: 'string' }, vectors: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(CONFORM_HELP);
    return 0;
  }
  const url = positionals[0];
  if (positionals.length !== 1 || url === undefined || !/^(rediss?|unix):/.test(url)) throw new UsageError('expected one redis://HOST:PORT');
  const timeout = secondsFlag('timeout', values.timeout, { max: 3600 }) ?? 5000;
  const verdicts = await checkBeam({ url, timeout, vectorsDir: values.vectors ?? defaultVectorsDir() });
  const status = beamExitStatus(verdicts);
  process.stdout.write(values.json ? JSON.stringify({ target: url, status, rules: verdicts }) + '\n' : formatBeamReport(verdicts));
  return status;
}
