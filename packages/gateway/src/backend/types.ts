/**
 * What the gateway needs from a Beam context, embedded or remote: command clients (one per blocking reader),
 * RESP clients for the RESP profile, and an optional handler check.
 */
import { BeamCommandError } from '../errors.js';

/** A decoded reply: bulk and simple strings as Buffers, integers as numbers, nil as null. */
export type Value = Buffer | number | null | Value[];

/** One logical Beam client. `call` rejects with BeamCommandError for an error reply. */
export interface CommandClient {
  call(argv: ReadonlyArray<Buffer | string>): Promise<Value>;
  /** Aborts blocking commands and releases the client. */
  close(): void;
}

export type HandlerCheck = 'ok' | 'unknown' | 'forbidden' | 'maybe';

/** A RESP client for one RESP-profile channel: raw RESP replies, pushes delivered out of band. */
export interface RespSession {
  /** Runs one decoded command; resolves with its encoded reply (RESP2 or RESP3, as the client chose). */
  exec(argv: Buffer[]): Promise<RespResult>;
  readonly subscriptionCount: number;
  close(): void;
}

export interface RespResult {
  /** Replies to send in order; `push` marks pub/sub confirmations that travel on the subscription ANS stream. */
  parts: Array<{ bytes: Buffer; push: boolean }>;
}

export interface RespSessionHooks {
  /** An out-of-band message (pub/sub), encoded. */
  onPush(bytes: Buffer): void;
  /** The BEEP session's authenticated (SASL) identity, if any: the user the access policy applies to. */
  identity?: string | undefined;
}

export interface Backend {
  readonly kind: 'embedded' | 'remote';
  openClient(): Promise<CommandClient>;
  /**
   * Whether a job would run (`checkJob` of @beamgate/beam); 'maybe' when the context cannot tell (a remote one
   * that publishes no `/beam/handlers`). `client` is the channel's command client, for a remote lookup.
   */
  check(name: string, args: readonly string[], client: CommandClient): HandlerCheck | Promise<HandlerCheck>;
  openResp(hooks: RespSessionHooks): Promise<RespSession>;
  close(): Promise<void>;
}

export { BeamCommandError };

export function asNumber(v: Value): number {
  if (typeof v === 'number') return v;
  if (Buffer.isBuffer(v) && /^-?[0-9]+$/.test(v.toString('latin1'))) return Number(v.toString('latin1'));
  throw new BeamCommandError(`expected an integer reply, got ${JSON.stringify(v)}`);
}
