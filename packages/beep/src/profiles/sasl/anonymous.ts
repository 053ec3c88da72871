/**
 * ANONYMOUS (RFC 4505). One client message: optional trace information, an email address or an opaque token of
 * at most 255 characters, UTF-8, no control characters.
 */
import type { SaslClientMechanism, SaslServerMechanism, SaslServerStep } from './mechanism.js';
import { badState, malformedMessage, SingleMessageClient, utf8Strict } from './mechanism.js';

export const ANONYMOUS_MAX_TRACE_CHARS = 255;
/** The authcid reported for anonymous logins. */
export const ANONYMOUS_AUTHCID = 'anonymous';

export function validateTrace(trace: string): void {
  if ([...trace].length > ANONYMOUS_MAX_TRACE_CHARS) {
    throw malformedMessage(`ANONYMOUS trace information longer than ${ANONYMOUS_MAX_TRACE_CHARS} characters`);
  }
  // TCHAR excludes controls (RFC 4505 §3); '@' is allowed only as part of an email address, not checked further.
  if (/[\u0000-\u001f\u007f]/.test(trace)) throw malformedMessage('ANONYMOUS trace information holds a control character');
}

class AnonymousServer implements SaslServerMechanism {
  readonly name = 'ANONYMOUS' as const;
  private state: 'initial' | 'waiting' | 'done' = 'initial';

  async step(response: Buffer | undefined): Promise<SaslServerStep> {
    if (this.state === 'done') throw badState('ANONYMOUS exchange already finished');
    if (response === undefined) {
      if (this.state === 'waiting') throw malformedMessage('ANONYMOUS expects a message');
      this.state = 'waiting';
      return { kind: 'challenge', data: Buffer.alloc(0) };
    }
    this.state = 'done';
    const trace = utf8Strict(response, 'ANONYMOUS trace information');
    validateTrace(trace);
    return {
      kind: 'success',
      identity: { mechanism: this.name, authcid: ANONYMOUS_AUTHCID, authzid: undefined, identity: ANONYMOUS_AUTHCID, trace },
    };
  }
}

export function createAnonymousServer(): SaslServerMechanism {
  return new AnonymousServer();
}

export function createAnonymousClient(options: { trace?: string } = {}): SaslClientMechanism {
  const trace = options.trace ?? '';
  validateTrace(trace);
  return new SingleMessageClient('ANONYMOUS', Buffer.from(trace, 'utf8'), 'the trace');
}
