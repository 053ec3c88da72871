import type { CommandFilter, CommandSpec } from '../context/api.js';
import { ErrorReply, type Reply } from '../wire/reply.js';
import { parseFrame } from './frames.js';
import { JOBS_DB, parseJobKey, type ParsedJobKey } from './keys.js';
import type { JobLimits } from './options.js';
import { parseSignal } from './signals.js';

/** Per-job tallies the filter keeps for limits and input stream state, from creation to exit. */
export interface JobRecord {
  argsBytes: number;
  envBytes: number;
  /** Bytes queued in /jobs/$id/in (added here, removed by the engine as it pops). */
  inBytes: number;
  /** Input streams closed by an `N:` frame already pushed. */
  closedInputs: Set<number>;
}

/** 'expired': created, never started, and reclaimed after `unstartedTtlMs` (its keys are gone). */
export type JobPhase = 'new' | 'active' | 'exited' | 'expired';

/** What the filter needs from the engine; all answers are synchronous. */
export interface FilterHost {
  readonly limits: JobLimits;
  /** LLEN /jobs (ids below it exist), undefined when the context cannot answer synchronously. */
  jobCount(): number | undefined;
  /** LLEN / HLEN of a key, undefined when unknown. */
  size(cmd: 'LLEN' | 'HLEN', key: Buffer): number | undefined;
  phase(id: number): JobPhase;
  activeCount(): number;
  /** Jobs created and neither started nor reclaimed (creations not yet seen by the engine included). */
  unstartedCount(): number;
  record(id: number): JobRecord;
  /** The start was accepted: the job counts as active from now on. */
  claimStart(id: number): void;
}

/** Commands that only take elements out of their key (when the key is their source). */
const CONSUMERS = new Set(['lpop', 'rpop', 'blpop', 'brpop', 'lmpop', 'blmpop', 'del', 'unlink', 'ltrim']);
/** List moves: argv[1] is the source, argv[2] the destination. */
const MOVES = new Set(['rpoplpush', 'brpoplpush', 'lmove', 'blmove']);

type Role = 'source' | 'dest' | 'key';

const KEY_HELP = '/jobs, /jobs/ID, /jobs/ID/args, env, in, out, status, wait, signal';

function refuse(message: string): ErrorReply {
  return new ErrorReply(`ERR ${message}`);
}

function show(b: Buffer, max = 40): string {
  const s = b.toString('utf8');
  return JSON.stringify(s.length > max ? `${s.slice(0, max)}...` : s);
}

/** Positions of the keys a write command touches, with their role. */
function keyPositions(spec: CommandSpec, argv: Buffer[]): Array<[number, Role]> {
  const name = spec.name;
  const out: Array<[number, Role]> = [];
  if (MOVES.has(name)) {
    if (argv.length > 2) out.push([1, 'source'], [2, 'dest']);
    return out;
  }
  if (name === 'lmpop' || name === 'blmpop') {
    const at = name === 'lmpop' ? 1 : 2;
    const n = Number(argv[at]?.toString('latin1'));
    if (Number.isSafeInteger(n) && n > 0) for (let i = at + 1; i <= at + n && i < argv.length; i++) out.push([i, 'source']);
    return out;
  }
  if (spec.flags.includes('movablekeys')) {
    // Unknown key layout: treat every argument as a key (refuses more than needed, never less).
    for (let i = 1; i < argv.length; i++) out.push([i, 'key']);
    return out;
  }
  if (spec.firstKey <= 0) return out;
  const last = spec.lastKey < 0 ? argv.length + spec.lastKey : spec.lastKey;
  const step = spec.step > 0 ? spec.step : 1;
  const role: Role = CONSUMERS.has(name) ? 'source' : 'key';
  for (let i = spec.firstKey; i <= last && i < argv.length; i += step) out.push([i, role]);
  return out;
}

/** Whether a spec is a write, computed once per spec (the filter runs before every command). */
const writeSpecs = new WeakMap<CommandSpec, boolean>();

function isWrite(spec: CommandSpec): boolean {
  let w = writeSpecs.get(spec);
  if (w === undefined) {
    w = spec.flags.includes('write');
    writeSpecs.set(spec, w);
  }
  return w;
}

function isDbZero(b: Buffer | undefined): boolean {
  return b !== undefined && /^0+$/.test(b.toString('latin1'));
}

/**
 * The job protocol's guard, run by the dispatcher before every command (also inside EXEC): writes to job
 * keys that do not follow the protocol get `-ERR` and change nothing. Reads are never refused; internal
 * clients (the engine itself, replication) are never refused.
 */
export function createJobFilter(host: FilterHost): CommandFilter {
  const { limits } = host;

  const exists = (id: number, key: Buffer): ErrorReply | undefined => {
    const n = host.jobCount();
    if (n !== undefined && id >= n) {
      return refuse(`${key.toString()}: no such job ${id} (RPUSH /jobs NAME creates a job; its id is the reply minus 1)`);
    }
    return undefined;
  };

  const expired = (id: number, key: Buffer): ErrorReply =>
    refuse(`${key.toString()}: job ${id} expired before it was started (unstartedTtlMs); create a new job`);

  const notStarted = (id: number, key: Buffer, what: string): ErrorReply | undefined => {
    const e = exists(id, key);
    if (e) return e;
    const phase = host.phase(id);
    if (phase === 'expired') return expired(id, key);
    return phase !== 'new' ? refuse(`${key.toString()}: job ${id} already started; its ${what} can no longer change`) : undefined;
  };

  const checkJobsList = (name: string, argv: Buffer[]): ErrorReply | undefined => {
    if (name !== 'rpush') return refuse(`/jobs is append-only (a job id is a position in it): ${name.toUpperCase()} is not allowed, use RPUSH /jobs NAME`);
    for (let i = 2; i < argv.length; i++) if (argv[i]!.length === 0) return refuse('/jobs: a job name must not be empty');
    if (host.unstartedCount() + argv.length - 2 > limits.maxUnstartedJobs) {
      return refuse(`/jobs: too many jobs created and not started (maxUnstartedJobs ${limits.maxUnstartedJobs}); start or let some expire, then try again`);
    }
    return undefined;
  };

  const checkStart = (id: number, name: string, argv: Buffer[], key: Buffer): ErrorReply | undefined => {
    const usage = `start the job with SET /jobs/${id} "" (an empty value, no options)`;
    if (name !== 'set') return refuse(`/jobs/${id}: ${name.toUpperCase()} is not allowed; ${usage}`);
    if (argv.length !== 3 || argv[2]!.length !== 0) return refuse(`/jobs/${id}: ${usage}`);
    const e = exists(id, key);
    if (e) return e;
    const phase = host.phase(id);
    if (phase === 'expired') return expired(id, key);
    if (phase !== 'new') return refuse(`/jobs/${id}: job ${id} already started`);
    if (host.activeCount() >= limits.maxJobs) return refuse(`/jobs/${id}: too many running jobs (maxJobs ${limits.maxJobs}); try again later`);
    host.claimStart(id);
    return undefined;
  };

  const checkArgs = (id: number, name: string, argv: Buffer[], key: Buffer): ErrorReply | undefined => {
    if (name !== 'rpush') return refuse(`/jobs/${id}/args is a list of arguments: ${name.toUpperCase()} is not allowed, use RPUSH /jobs/${id}/args ARG...`);
    const e = notStarted(id, key, 'arguments');
    if (e) return e;
    const rec = host.record(id);
    const add = argv.length - 2;
    let bytes = 0;
    for (let i = 2; i < argv.length; i++) bytes += argv[i]!.length;
    const len = host.size('LLEN', key) ?? 0;
    if (len + add > limits.maxArgs) return refuse(`/jobs/${id}/args: too many arguments (maxArgs ${limits.maxArgs})`);
    if (rec.argsBytes + bytes > limits.maxArgsBytes) return refuse(`/jobs/${id}/args: arguments too large (maxArgsBytes ${limits.maxArgsBytes})`);
    rec.argsBytes += bytes;
    return undefined;
  };

  const checkEnv = (id: number, name: string, argv: Buffer[], key: Buffer): ErrorReply | undefined => {
    if (name !== 'hset' && name !== 'hmset' && name !== 'hsetnx') {
      return refuse(`/jobs/${id}/env is a hash of variables: ${name.toUpperCase()} is not allowed, use HSET /jobs/${id}/env NAME VALUE...`);
    }
    const e = notStarted(id, key, 'environment');
    if (e) return e;
    if ((argv.length - 2) % 2 !== 0) return undefined; // the command reports its own arity error
    let bytes = 0;
    for (let i = 2; i < argv.length; i += 2) {
      const k = argv[i]!;
      if (k.length === 0 || k.includes(0x3d) || k.includes(0)) return refuse(`/jobs/${id}/env: bad variable name ${show(k)} (empty, or contains '=' or NUL)`);
      bytes += k.length + argv[i + 1]!.length;
    }
    const rec = host.record(id);
    const len = host.size('HLEN', key) ?? 0;
    if (len + (argv.length - 2) / 2 > limits.maxEnvEntries) return refuse(`/jobs/${id}/env: too many variables (maxEnvEntries ${limits.maxEnvEntries})`);
    if (rec.envBytes + bytes > limits.maxEnvBytes) return refuse(`/jobs/${id}/env: environment too large (maxEnvBytes ${limits.maxEnvBytes})`);
    rec.envBytes += bytes;
    return undefined;
  };

  const checkInput = (id: number, name: string, argv: Buffer[], key: Buffer): ErrorReply | undefined => {
    if (name !== 'rpush') return refuse(`/jobs/${id}/in is a list of input frames: ${name.toUpperCase()} is not allowed, use RPUSH /jobs/${id}/in "0:data"`);
    const e = exists(id, key);
    if (e) return e;
    const phase = host.phase(id);
    if (phase === 'exited') return refuse(`/jobs/${id}/in: job ${id} has exited`);
    if (phase === 'expired') return expired(id, key);
    const rec = host.record(id);
    const closing: number[] = [];
    let bytes = 0;
    for (let i = 2; i < argv.length; i++) {
      const f = parseFrame(argv[i]!, limits.maxStream);
      if (!f) return refuse(`/jobs/${id}/in: bad input frame ${show(argv[i]!)}: expected "N:data" with N a stream number 0..${limits.maxStream} ("N:" closes stream N)`);
      if (rec.closedInputs.has(f.stream) || closing.includes(f.stream)) return refuse(`/jobs/${id}/in: input stream ${f.stream} is closed`);
      if (f.data === null) closing.push(f.stream);
      bytes += argv[i]!.length;
    }
    const len = host.size('LLEN', key) ?? 0;
    if (len + argv.length - 2 > limits.maxQueuedInputFrames || rec.inBytes + bytes > limits.maxQueuedInputBytes) {
      return refuse(`/jobs/${id}/in: input queue full (maxQueuedInputFrames ${limits.maxQueuedInputFrames}, maxQueuedInputBytes ${limits.maxQueuedInputBytes}); retry when the job has read some`);
    }
    for (const s of closing) rec.closedInputs.add(s);
    rec.inBytes += bytes;
    return undefined;
  };

  const checkSignal = (id: number, name: string, argv: Buffer[], key: Buffer): ErrorReply | undefined => {
    if (name !== 'rpush') return refuse(`/jobs/${id}/signal: ${name.toUpperCase()} is not allowed, use RPUSH /jobs/${id}/signal TERM`);
    const e = exists(id, key);
    if (e) return e;
    const phase = host.phase(id);
    if (phase === 'new') return refuse(`/jobs/${id}/signal: job ${id} has not started`);
    if (phase === 'expired') return expired(id, key);
    if (phase === 'exited') return refuse(`/jobs/${id}/signal: job ${id} has exited`);
    for (let i = 2; i < argv.length; i++) {
      if (!parseSignal(argv[i]!.toString('latin1'))) return refuse(`/jobs/${id}/signal: unknown signal ${show(argv[i]!)} (use HUP, INT, QUIT, KILL, USR1, USR2 or TERM)`);
    }
    return undefined;
  };

  const checkKey = (k: ParsedJobKey, role: Role, name: string, argv: Buffer[], key: Buffer): ErrorReply | undefined => {
    if (k.kind === 'invalid') return refuse(`${key.toString()}: not a key of the job protocol (${KEY_HELP})`);
    if (k.kind === 'jobs') return checkJobsList(role === 'key' ? name : `${name} (as a ${role})`, argv);
    switch (k.kind) {
      case 'start':
        return checkStart(k.id, name, argv, key);
      case 'args':
        return checkArgs(k.id, name, argv, key);
      case 'env':
        return checkEnv(k.id, name, argv, key);
      case 'in':
        return checkInput(k.id, name, argv, key);
      case 'signal':
        return checkSignal(k.id, name, argv, key);
      case 'out':
      case 'wait':
        if (role === 'source') return undefined;
        return refuse(`/jobs/${k.id}/${k.kind} is written by the job engine only: take frames with BLPOP/LPOP (${name.toUpperCase()} is not allowed)`);
      case 'status':
        return refuse(`/jobs/${k.id}/status is written by the job engine only (${name.toUpperCase()} is not allowed)`);
    }
  };

  return (inv, spec): Reply | undefined => {
    if (inv.client.internal || !isWrite(spec)) return undefined;
    const { argv } = inv;
    const name = spec.name;
    if (name === 'swapdb') {
      return isDbZero(argv[1]) || isDbZero(argv[2]) ? refuse('SWAPDB with database 0 is not allowed: it holds the job namespace') : undefined;
    }
    if (inv.client.db !== JOBS_DB) {
      // Ordinary keys here, but they must not land in database 0's job namespace.
      if (name === 'move' && isDbZero(argv[2]) && argv[1] && parseJobKey(argv[1])) return refuse('MOVE of a /jobs key into database 0 is not allowed');
      if (name === 'copy' && argv[2] && parseJobKey(argv[2])) {
        for (let i = 3; i + 1 < argv.length; i++) {
          if (argv[i]!.toString('latin1').toLowerCase() === 'db' && isDbZero(argv[i + 1])) return refuse('COPY of a /jobs key into database 0 is not allowed');
        }
      }
      return undefined;
    }
    // Every job key starts with '/': most writes name none and skip the key-role analysis.
    if (!argv.some((a, i) => i > 0 && a[0] === 0x2f)) return undefined;
    for (const [i, role] of keyPositions(spec, argv)) {
      const key = argv[i]!;
      const k = parseJobKey(key);
      if (!k) continue;
      const e = checkKey(k, role, name, argv, key);
      if (e) return e;
    }
    return undefined;
  };
}
