/**
 * The TLS tuning profile exchange (RFC 3080 §3.1), sans-IO.
 *
 * Initiator (client role):                          Listener (server role):
 *   start uri=TLS, content `<ready />`  ───────────>  s = new TlsProfileServer(...); r = s.onStart(content)
 *   (then sends NOTHING more, checklist J.49)         flush pending replies, then RPY <profile> with r.content
 *   c.onStartReply(content) -> 'proceed'   <───────   if r.proceed: send nothing more, stop reading
 *   stop reading; both sides: upgradeToTls(socket, { role, pending: bytes read past the reply / the start })
 *   both sides: discard all session state (channels, cached greeting, SASL identity: §9), send new greetings
 *   handshake failure: we terminate the connection (RFC 3080 allows new greetings in clear or terminating)
 *
 * `<ready />` may also come as the first MSG on the TLS channel when the start had no content; the answer is then
 * RPY `<proceed />` or ERR `<error>`. A refusal inside the start reply is `<error code='...'>` in place of
 * `<proceed/>` (checklist J.48: 501 for a bad `ready`).
 */
import { BeepTlsError, BeepXmlError } from '../../errors.js';
import { buildErrorElement } from '../xml/error-element.js';
import type { ProfileError } from '../xml/error-element.js';
import { buildProceed, buildReady, parseReady, parseTlsReply, TLS_READY_VERSION } from './tls-xml.js';

export interface TlsProfileServerOptions {
  /** A key and certificate are configured. Without them every `ready` gets 421. */
  available: boolean;
  /** The session already runs over TLS: a second negotiation is refused (554). */
  secure: boolean;
}

export interface TlsServerStartReply {
  /** Content for the positive start reply's `<profile>`: `<proceed />`, an `<error>`, or undefined (no `ready` yet). */
  content: string | undefined;
  /** True: after sending the reply, send nothing more and run the TLS handshake as server. */
  proceed: boolean;
  error?: ProfileError;
}

export interface TlsServerMessageReply {
  kind: 'rpy' | 'err';
  body: string;
  proceed: boolean;
  error?: ProfileError;
}

export type TlsServerState = 'idle' | 'proceed' | 'refused';

export class TlsProfileServer {
  private stateValue: TlsServerState = 'idle';

  constructor(private readonly options: TlsProfileServerOptions) {}

  get state(): TlsServerState {
    return this.stateValue;
  }

  onStart(content: string | Uint8Array | undefined): TlsServerStartReply {
    const empty = content === undefined || (typeof content === 'string' ? content.trim() === '' : content.length === 0);
    if (empty) return { content: undefined, proceed: false };
    const r = this.decide(content);
    return r.error ? { content: buildErrorElement(r.error), proceed: false, error: r.error } : { content: buildProceed(), proceed: true };
  }

  onMessage(body: string | Uint8Array): TlsServerMessageReply {
    const r = this.decide(body);
    return r.error ? { kind: 'err', body: buildErrorElement(r.error), proceed: false, error: r.error } : { kind: 'rpy', body: buildProceed(), proceed: true };
  }

  private decide(input: string | Uint8Array): { error?: ProfileError } {
    if (this.stateValue === 'proceed') return this.refuse({ code: 554, message: 'TLS negotiation already under way' });
    let version: string;
    try {
      version = parseReady(input).version;
    } catch (err) {
      const code = err instanceof BeepXmlError ? (err.replyCode ?? 501) : 501;
      return this.refuse({ code, message: `bad ready element: ${(err as Error).message}` });
    }
    if (version !== TLS_READY_VERSION) return this.refuse({ code: 501, message: `ready version '${version}' is not supported` });
    if (this.options.secure) return this.refuse({ code: 554, message: 'TLS is already in use on this session' });
    if (!this.options.available) return this.refuse({ code: 421, message: 'TLS is not available' });
    this.stateValue = 'proceed';
    return {};
  }

  private refuse(error: ProfileError): { error: ProfileError } {
    if (this.stateValue !== 'proceed') this.stateValue = 'refused';
    return { error };
  }
}

export type TlsClientStep =
  /** Send `body` as a MSG on the TLS channel (the start reply carried no answer to `ready`). */
  | { kind: 'send'; body: string }
  /** Stop sending and reading; run upgradeToTls(..., { role: 'client' }). */
  | { kind: 'proceed' }
  | { kind: 'failed'; error: BeepTlsError };

export class TlsProfileClient {
  private stateValue: 'new' | 'ready-sent' | 'proceed' | 'failed' = 'new';

  get state(): 'new' | 'ready-sent' | 'proceed' | 'failed' {
    return this.stateValue;
  }

  /** The start's piggybacked content. After this, send nothing more on the session until the answer. */
  startContent(): string {
    this.stateValue = 'ready-sent';
    return buildReady();
  }

  onStartRefused(code: number, message = ''): TlsClientStep {
    return this.fail(refused(code, message));
  }

  onStartReply(content: string | Uint8Array | undefined): TlsClientStep {
    const empty = content === undefined || (typeof content === 'string' ? content.trim() === '' : content.length === 0);
    if (empty) return { kind: 'send', body: buildReady() };
    return this.answer(content);
  }

  onReply(kind: 'rpy' | 'err', body: string | Uint8Array): TlsClientStep {
    const step = this.answer(body);
    if (kind === 'err' && step.kind === 'proceed') {
      return this.fail(new BeepTlsError('BEEP_TLS_REFUSED', 'ERR carrying proceed', { replyCode: 500 }));
    }
    return step;
  }

  private answer(content: string | Uint8Array): TlsClientStep {
    try {
      const reply = parseTlsReply(content);
      if (reply.kind === 'error') return this.fail(refused(reply.error.code, reply.error.message));
      this.stateValue = 'proceed';
      return { kind: 'proceed' };
    } catch (err) {
      return this.fail(new BeepTlsError('BEEP_TLS_REFUSED', `bad answer to ready: ${(err as Error).message}`, { replyCode: 500, cause: err }));
    }
  }

  private fail(error: BeepTlsError): TlsClientStep {
    this.stateValue = 'failed';
    return { kind: 'failed', error };
  }
}

function refused(code: number, message: string): BeepTlsError {
  return new BeepTlsError('BEEP_TLS_REFUSED', message === '' ? `TLS refused with ${code}` : message, { replyCode: code });
}
