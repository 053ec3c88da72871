import { BeamError } from '../errors.js';

/** Signals a client may send to a job (`RPUSH /jobs/$id/signal NAME`), with their Linux numbers. */
export const SIGNALS = {
  HUP: 1,
  INT: 2,
  QUIT: 3,
  KILL: 9,
  USR1: 10,
  USR2: 12,
  TERM: 15,
} as const;

export type SignalName = keyof typeof SIGNALS;

/** Accepts `TERM`, `SIGTERM` (any case) or the number (`15`); returns the short name. */
export function parseSignal(text: string): SignalName | undefined {
  let s = text.trim().toUpperCase();
  if (s.startsWith('SIG')) s = s.slice(3);
  if (/^[0-9]+$/.test(s)) {
    const n = Number(s);
    for (const [name, no] of Object.entries(SIGNALS)) if (no === n) return name as SignalName;
    return undefined;
  }
  return Object.hasOwn(SIGNALS, s) ? (s as SignalName) : undefined;
}

/** The `reason` of a job's AbortSignal when a signal arrives: handlers can tell which one it was. */
export class JobSignalError extends BeamError {
  override readonly name = 'AbortError';
  readonly signo: number;
  constructor(readonly signal: SignalName) {
    super('BEAM_JOB_SIGNAL', `job received SIG${signal}`);
    this.signo = SIGNALS[signal];
  }
  /** Exit status of a job ended by this signal, as a shell reports it. */
  get status(): number {
    return 128 + this.signo;
  }
}
