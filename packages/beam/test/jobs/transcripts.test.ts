import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BeamClient } from '../../src/client/beam-client.js';
import type { RawReply } from '../../src/client/connection.js';
import { BeamError } from '../../src/client/errors.js';
import type { AttachJobsOptions } from '../../src/jobs/engine.js';
import { ErrorReply, NULL_ARRAY, SimpleString, type Reply } from '../../src/wire/reply.js';
import { startServer } from '../client/server-harness.js';
import { Harness } from './harness.js';
import type { Json, Vector as TranscriptVector } from '../../src/conform/check.js';

/** Replays test-vectors/beam/job-transcripts.json (format: test-vectors/README.md, "Beam job transcripts"). */

interface Vector extends Omit<TranscriptVector, 'options'> {
  options: AttachJobsOptions;
}

const FILE = fileURLToPath(new URL('../../../../../test-vectors/beam/job-transcripts.json', import.meta.url));
const vectors = (JSON.parse(readFileSync(FILE, 'utf8')) as { vectors: Vector[] }).vectors;

/** Decoded reply, README convention: bulk -> ISO-8859-1 string, simple -> {status}, error -> {error}. */
type Decoded = Json;

function fromContext(r: Reply): Decoded {
  if (Buffer.isBuffer(r)) return r.toString('latin1');
  if (typeof r === 'string') return Buffer.from(r).toString('latin1');
  if (r instanceof SimpleString) return { status: r.value };
  if (r instanceof ErrorReply) return { error: r.message };
  if (r === NULL_ARRAY || r === null) return null;
  if (Array.isArray(r)) return r.map(fromContext);
  if (typeof r === 'number') return r;
  if (typeof r === 'bigint') return Number(r);
  return String(r);
}

function fromClient(r: RawReply | string): Decoded {
  if (Buffer.isBuffer(r)) return r.toString('latin1');
  if (Array.isArray(r)) return r.map(fromClient);
  if (typeof r === 'bigint') return Number(r);
  if (typeof r === 'boolean') return r ? 1 : 0;
  if (r instanceof ErrorReply) return r.message;
  return r;
}

function substitute(s: string, vars: Map<string, string>): string {
  return s.replace(/\{\{(\w+)\}\}/g, (m, name: string) => vars.get(name) ?? m);
}

function check(expected: Json, actual: Decoded, vars: Map<string, string>, where: string): void {
  if (typeof expected === 'string') {
    expect(actual, where).to.equal(substitute(expected, vars));
  } else if (Array.isArray(expected)) {
    expect(actual, where).to.be.an('array').with.lengthOf(expected.length);
    expected.forEach((e, i) => check(e, (actual as Json[])[i]!, vars, `${where}[${i}]`));
  } else if (expected !== null && typeof expected === 'object' && 'match' in expected) {
    expect(actual, where).to.be.a('string');
    expect(actual as string, where).to.match(new RegExp(substitute(expected.match as string, vars)));
  } else if (expected !== null && typeof expected === 'object' && 'status' in expected) {
    // A client cannot tell a simple string from a bulk string: accept both.
    if (typeof actual === 'string') expect(actual, where).to.equal(expected.status);
    else expect(actual, where).to.deep.equal(expected);
  } else {
    expect(actual, where).to.deep.equal(expected);
  }
}

async function replay(v: Vector, send: (argv: string[]) => Promise<Decoded>): Promise<void> {
  const vars = new Map<string, string>();
  for (const [i, step] of v.steps.entries()) {
    const argv = step.send.map((a) => substitute(a, vars));
    const where = `${v.id} step ${i}: ${argv.join(' ')}`;
    const actual = await send(argv);
    if (step.reply_error !== undefined) {
      expect(actual, where).to.have.property('error');
      expect((actual as { error: string }).error, where).to.match(new RegExp(substitute(step.reply_error, vars)));
    } else {
      expect(actual === null || typeof actual !== 'object' || Array.isArray(actual) || !('error' in actual), `${where}: unexpected ${JSON.stringify(actual)}`).to.equal(true);
      if (step.reply_type === 'integer') expect(actual, where).to.be.a('number');
      if (step.reply !== undefined) check(step.reply, actual, vars, where);
      if (step.reply_match !== undefined) expect(actual as string, where).to.match(new RegExp(substitute(step.reply_match, vars)));
    }
    if (step.bind) vars.set(step.bind, String((actual as number) - 1));
  }
}

describe('jobs: transcripts (test-vectors/beam/job-transcripts.json)', function () {
  this.timeout(10000);

  describe('against a Context + Dispatcher', () => {
    for (const v of vectors) {
      it(`${v.id}: ${v.description}`, async () => {
        const h = new Harness(v.options);
        const reader = h.newClient();
        try {
          await replay(v, async (argv) => {
            const c = argv[0]!.toUpperCase().startsWith('B') ? reader : h.client;
            return fromContext(await h.dispatcher.call(c, argv));
          });
        } finally {
          await h.close();
        }
      });
    }
  });

  describe('against the server over TCP', () => {
    for (const v of vectors) {
      it(`${v.id}`, async () => {
        const srv = await startServer(v.options);
        const client = await new BeamClient({ port: srv.port }).connect();
        try {
          await replay(v, async (argv) => {
            try {
              return fromClient(await client.callBuffer(...argv));
            } catch (e) {
              if (e instanceof BeamError) return { error: e.message };
              throw e;
            }
          });
        } finally {
          await client.close();
          await srv.close();
        }
      });
    }
  });
});
