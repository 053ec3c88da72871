import { parseArgs } from 'node:util';
import { BeamClient } from '../client/beam-client.js';
import type { BeamMirror, MirrorChange, MirrorValue } from '../client/sync-client.js';
import { globMatch } from '../context/glob.js';
import { renameFlags, UsageError } from '@beamgate/base';
import { setLogLevel } from './log.js';

export const SYNC_HELP = `Usage: beam sync [options]

Mirror a Beam (or Redis) server's dataset over the replication protocol (PSYNC) and print every change as it
happens, one line each: DB EVENT KEY [VALUE]. KEY and VALUE are JSON strings; a list or set value is a JSON array,
a hash a JSON object; VALUE is absent when the key no longer exists.

Options:
  --url URL          server: redis://[[USER]:PASS@]HOST:PORT or unix:/path (default $BEAM_URL or
                     redis://127.0.0.1:6380)
  --user NAME        ACL user to AUTH as, with --pass
  --pass PW          AUTH password (--password still accepted)
  --log-level LEVEL  silent, error, warn, info or debug
  --match PATTERN    only keys matching this glob pattern (Redis KEYS syntax)
  --db N             only this database
  --snapshot         first print every matching key of the snapshot (event 'snapshot')
  --json             print JSON objects ({"db","event","key","type","value"}) instead
  --no-values        omit values
  -h, --help         show this help
  -V, --version      print the version

Runs until interrupted; reconnects (continuing from the master's backlog) when the link drops.
`;

function text(b: Buffer): string {
  return JSON.stringify(b.toString('utf8'));
}

function render(v: MirrorValue | undefined): unknown {
  if (v === undefined) return undefined;
  if (Buffer.isBuffer(v)) return v.toString('utf8');
  if (Array.isArray(v)) return v.map((b) => b.toString('utf8'));
  // Hashes map to string values, sorted sets to numeric scores.
  if (v instanceof Map) {
    return Object.fromEntries([...v].map(([f, x]: [string, Buffer | number]) => [
      Buffer.from(f, 'latin1').toString('utf8'), typeof x === 'number' ? x : x.toString('utf8'),
    ]));
  }
  return [...v].map((m) => Buffer.from(m, 'latin1').toString('utf8')).sort();
}

export async function sync(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: renameFlags(argv, { password: 'pass' }),
    options: {
      url: { type: 'string' },
      user: { type: 'string' },
      pass: { type: 'string' },
      'log-level': { type: 'string' },
      match: { type: 'string' },
      db: { type: 'string' },
      snapshot: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      'no-values': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    process.stdout.write(SYNC_HELP);
    return 0;
  }
  setLogLevel(values['log-level']);
  let onlyDb: number | null = null;
  if (values.db !== undefined) {
    onlyDb = Number(values.db);
    if (!Number.isInteger(onlyDb) || onlyDb < 0) throw new UsageError(`--db expects a database number, got '${values.db}'`);
  }
  const pattern = values.match !== undefined ? Buffer.from(values.match) : null;
  const withValues = !values['no-values'];
  const url = values.url ?? process.env.BEAM_URL ?? 'redis://127.0.0.1:6380';
  if (values.user !== undefined && values.pass === undefined) throw new UsageError('--user needs --pass');
  const client = new BeamClient({ url }, {
    ...(values.pass !== undefined ? { password: values.pass } : {}),
    ...(values.user !== undefined ? { username: values.user } : {}),
  });
  const wanted = (db: number, key: Buffer): boolean => (onlyDb === null || db === onlyDb) && (pattern === null || globMatch(pattern, key, false));

  let mirror: BeamMirror | null = null;
  const print = (db: number, event: string, key: Buffer): void => {
    const m = mirror!;
    const value = withValues ? render(m.get(key, db)) : undefined;
    if (values.json) {
      const type = m.type(key, db);
      process.stdout.write(`${JSON.stringify({ db, event, key: key.toString('utf8'), type, ...(withValues ? { value: value ?? null } : {}) })}\n`);
    } else {
      process.stdout.write(`${db} ${event} ${text(key)}${value !== undefined ? ` ${JSON.stringify(value)}` : ''}\n`);
    }
  };

  mirror = await client.sync();
  if (values.snapshot) {
    for (let db = 0; db < mirror.context.dbs.length; db++) {
      if (onlyDb !== null && db !== onlyDb) continue;
      for (const key of mirror.keys(db)) if (wanted(db, key)) print(db, 'snapshot', key);
    }
  }
  mirror.on('change', (c: MirrorChange) => {
    if (wanted(c.db, c.key)) print(c.db, c.event, c.key);
  });
  mirror.on('flush', (e: { db: number }) => {
    if (onlyDb === null || e.db === -1 || e.db === onlyDb) process.stdout.write(values.json ? `${JSON.stringify({ db: e.db, event: 'flush' })}\n` : `${e.db} flush\n`);
  });
  mirror.on('ready', () => process.stderr.write('beam sync: full resynchronization\n'));
  mirror.on('disconnect', (e: Error) => process.stderr.write(`beam sync: link lost (${e.message}), reconnecting\n`));
  mirror.on('error', () => {}); // commands the mirror cannot apply are counted in mirror.stats

  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    mirror!.once('close', stop);
  });
  await mirror.close();
  await client.close();
  return 0;
}
