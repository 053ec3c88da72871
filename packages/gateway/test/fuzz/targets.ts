/**
 * The fuzz targets: each parses one untrusted input the way its server does, and names the error type that
 * counts as a clean refusal. Anything else thrown is a crash.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BeepError, buildGreeting, buildStart, FrameParser, parseChannel0, parseSafeXml } from '@beamgate/beep';
import { RequestDecoder, RespProtocolError, sync } from '@beamgate/beam';
import { GatewayXmlError } from '../../src/errors.js';
import {
  buildJob,
  parseControlAnswer,
  parseError,
  parseFinalAnswer,
  parseJobId,
  parseJobRequest,
  parsePeerMessage,
  parseSignal,
  parseStatus,
} from '../../src/wire/job-xml.js';
import { repoRoot } from '../e2e/processes.js';
import { chunks } from './mutate.js';
import type { Rng } from './rng.js';

export interface FuzzTarget {
  name: string;
  /** Inputs mutations start from. */
  seeds: Buffer[];
  /** Tokens worth inserting (keywords, delimiters). */
  dict: Buffer[];
  /** Parses one input; throws only what `typed` accepts. */
  run(input: Buffer, rng: Rng): void;
  /** The module's own typed refusal. */
  typed(e: unknown): boolean;
}

interface Vector {
  input?: string;
  input_b64?: string;
  parser?: string;
}

function vectors(file: string): Vector[] {
  return (JSON.parse(readFileSync(join(repoRoot(), 'test-vectors', file), 'utf8')) as { vectors: Vector[] }).vectors;
}

function vectorInput(v: Vector): Buffer | undefined {
  if (v.input_b64 !== undefined) return Buffer.from(v.input_b64, 'base64');
  if (v.input !== undefined) return Buffer.from(v.input, 'utf8');
  return undefined;
}

const toBuffers = (xs: readonly string[]): Buffer[] => xs.map((x) => Buffer.from(x, 'latin1'));
const defined = <T>(x: T | undefined): x is T => x !== undefined;

/** Seeds of the fuzz harness kept as data (test-vectors/fuzz/seeds.json), by target. */
function fileSeeds(target: string): Buffer[] {
  const f = JSON.parse(readFileSync(join(repoRoot(), 'test-vectors', 'fuzz', 'seeds.json'), 'utf8')) as { seeds: Array<{ target: string; input_b64: string }> };
  return f.seeds.filter((s) => s.target === target).map((s) => Buffer.from(s.input_b64, 'base64'));
}

const XML_DICT = toBuffers(['<', '>', '/>', '</', '<?xml version="1.0"?>', '<!DOCTYPE x>', '<!--', '-->', '<![CDATA[', ']]>', '&amp;', '&#0;', '&#x10FFFF;', '&#xD800;', '&lt;', '&unknown;', "='", '"', ' xmlns:a="b"', '\u00ff', '\xc3\xa9', '\xf0\x9f\x98\x80', '\xed\xa0\x80', '\r\n', '\t']);

function frames(): FuzzTarget {
  const seeds = vectors('beep/frames.json').map(vectorInput).filter(defined);
  return {
    name: 'beep-frames',
    seeds,
    dict: toBuffers(['MSG ', 'RPY ', 'ERR ', 'ANS ', 'NUL ', 'SEQ ', ' . ', ' * ', '\r\n', 'END\r\n', ' 4294967295', ' 2147483647', ' 0']),
    run(input, rng) {
      const strict = rng.chance(4);
      const p = new FrameParser({ onFrame: () => {}, strict, maxFrameSize: rng.chance(2) ? 4096 : 1024 * 1024 });
      for (const c of chunks(rng, input)) p.push(c);
      if (p.bufferedBytes > p.maxFrameSize + p.maxHeaderLength + 5) throw new Error(`frame parser holds ${p.bufferedBytes} bytes`);
    },
    typed: (e) => e instanceof BeepError,
  };
}

function xmlSeeds(parser: string | null): Buffer[] {
  return vectors('beep/xml.json')
    .filter((v) => parser === null || v.parser === parser)
    .map(vectorInput)
    .filter(defined);
}

function channel0(): FuzzTarget {
  const extra = [buildGreeting({ profiles: ['http://iana.org/beep/TLS', 'urn:beamgate:profile:job'], features: ['x'], localize: ['en'] }), buildStart({ number: 1, serverName: 'h', profiles: [{ uri: 'urn:x', content: '<job/>', encoding: 'none' }] })];
  return {
    name: 'beep-channel0',
    seeds: [...xmlSeeds('channel0'), ...toBuffers(extra)],
    dict: [...XML_DICT, ...toBuffers(['greeting', 'start', 'profile', 'close', 'ok', 'error', 'uri=', 'number=', 'code=', 'encoding="base64"', 'serverName=', 'features=', 'localize=', 'xml:lang='])],
    run(input, rng) {
      parseChannel0(rng.chance(2) ? input : input.toString('latin1'), { expect: rng.pick(['msg', 'rpy', 'err'] as const), strict: rng.chance(2), decodeBase64: rng.chance(2) });
    },
    typed: (e) => e instanceof BeepError,
  };
}

function safeXml(): FuzzTarget {
  return {
    name: 'beep-safe-xml',
    seeds: xmlSeeds(null),
    dict: XML_DICT,
    run(input, rng) {
      parseSafeXml(input, { maxBytes: rng.chance(2) ? 4096 : 65536, maxDepth: 16, maxElements: 1024 });
    },
    typed: (e) => e instanceof BeepError,
  };
}

function jobXml(): FuzzTarget {
  const job = buildJob({ name: 'cat', args: [Buffer.from('cat'), Buffer.from('a b'), Buffer.from([0, 0xff])], env: [['X', Buffer.from('1')], ['B', Buffer.from([0xc3])]], detach: true, input: false, early: true });
  const seeds = [
    job,
    "<job name='echo'/>",
    "<attach id='7'/>",
    '<run/>',
    '<input/>',
    '<status/>',
    "<exit status='0'/>",
    "<error code='550'>no such job</error>",
    "<started id='3'/>",
    '<signal>TERM</signal>',
    "<job id='12'/>",
    "<status id='1' state='exited' exit='3'/>",
  ];
  const parsers = [parseJobRequest, parsePeerMessage, parseJobId, parseSignal, parseStatus, parseFinalAnswer, parseControlAnswer, parseError];
  return {
    name: 'gateway-job-xml',
    seeds: toBuffers(seeds),
    dict: [...XML_DICT, ...toBuffers(['job', 'attach', 'arg', 'env', 'name=', 'id=', 'detach=', 'input=', "'none'", 'start=', "'create'", 'encoding=', "'base64'", 'status=', 'state=', 'code=', 'signal', 'exit'])],
    run(input, rng) {
      // One parser per input: each sees a share of the inputs, all of them over a run.
      rng.pick(parsers)(rng.chance(2) ? input : input.toString('utf8'));
    },
    typed: (e) => e instanceof GatewayXmlError,
  };
}

function resp(): FuzzTarget {
  const seeds = vectors('resp/request-decoder.json').map(vectorInput).filter(defined);
  return {
    name: 'resp-request-decoder',
    seeds,
    dict: toBuffers(['*', '$', '\r\n', '*-1\r\n', '$-1\r\n', '*1048576\r\n', '$536870912\r\n', '*0\r\n', '$0\r\n\r\n', ' ', '"', "'", '\\x00', '\n']),
    run(input, rng) {
      const limits = rng.chance(2) ? { maxInlineLength: 256, maxBulkLength: 1024, maxArrayLength: 64, maxQueryBuffer: 4096 } : {};
      const d = new RequestDecoder(limits);
      const out: Buffer[][] = [];
      for (const c of chunks(rng, input)) {
        const e = d.feed(c, out);
        if (e !== undefined && !(e instanceof RespProtocolError)) throw new Error(`feed returned ${String(e)}`);
        if (e) break;
      }
    },
    typed: () => false, // feed() returns its error: any throw is a crash
  };
}

function rdb(): FuzzTarget {
  const { writeRdbSync, staticSnapshot } = sync;
  const entries = [
    { key: Buffer.from('s'), type: 'string' as const, value: Buffer.from('hello'), expireAt: null },
    { key: Buffer.from('n'), type: 'string' as const, value: Buffer.from('12345'), expireAt: 4102444800000 },
    { key: Buffer.from('l'), type: 'list' as const, value: [Buffer.from('a'), Buffer.from('')], expireAt: null },
    { key: Buffer.from('h'), type: 'hash' as const, value: new Map([['f', Buffer.from('v')]]), expireAt: null },
    { key: Buffer.from('t'), type: 'set' as const, value: new Set(['m1', 'm2']), expireAt: null },
  ];
  const written = writeRdbSync(staticSnapshot(new Map([[0, entries as never], [3, [entries[0]] as never]])), { ctime: 0, usedMem: 0, replId: 'a'.repeat(40), replOffset: 5 });
  return {
    name: 'rdb-reader',
    seeds: [written, ...fileSeeds('rdb')],
    dict: [Buffer.from('REDIS0010'), Buffer.from('REDIS0011'), Buffer.from([0xff]), Buffer.from([0xfe, 0x00]), Buffer.from([0xfb, 0x01, 0x00]), Buffer.from([0xfa]), Buffer.from([0xfc]), Buffer.from([0xc3]), Buffer.from([0xc0]), Buffer.from([0x80, 0xff, 0xff, 0xff, 0xff]), Buffer.from([0x81]), Buffer.from([0x0e]), Buffer.from([0x10]), Buffer.from([0x11]), Buffer.from([0x12])],
    run(input, rng) {
      const p = new sync.RdbParser({ verifyChecksum: rng.chance(4), maxBulk: rng.chance(2) ? 1 << 20 : 512 * 1024 * 1024, maxElements: rng.chance(2) ? 100000 : 2 ** 32 });
      for (const c of chunks(rng, input)) p.push(c);
      p.end();
    },
    typed: (e) => e instanceof sync.RdbError,
  };
}

/** Every target, by name. */
export function allTargets(): FuzzTarget[] {
  return [frames(), channel0(), safeXml(), jobXml(), resp(), rdb()];
}
