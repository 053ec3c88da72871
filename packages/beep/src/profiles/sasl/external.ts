/**
 * EXTERNAL (RFC 4422 Appendix A): the identity comes from outside SASL, here the TLS client certificate the
 * listener verified (`requestCert` with trusted `ca`). One client message: the authorization identity to act as,
 * UTF-8, empty for "the identity of my certificate". The server refuses when the session has no verified
 * certificate (535) and when the client asks for another identity that the credential store does not authorize
 * (537).
 */
import type { SaslClientMechanism, SaslServerMechanism, SaslServerStep } from './mechanism.js';
import { authFailed, badState, malformedMessage, saslFailure, SingleMessageClient, utf8Strict } from './mechanism.js';
import type { SaslCredentialStore } from './credentials.js';
import { authorizeWith } from './credentials.js';

export const EXTERNAL_MAX_AUTHZID_OCTETS = 1024;

export interface ExternalServerOptions {
  credentials: SaslCredentialStore;
  /** The identity established outside SASL (the verified TLS client certificate's subject), if any. */
  externalIdentity: string | undefined;
}

class ExternalServer implements SaslServerMechanism {
  readonly name = 'EXTERNAL' as const;
  private done = false;

  constructor(private readonly options: ExternalServerOptions) {}

  async step(response: Buffer | undefined): Promise<SaslServerStep> {
    if (this.done) throw badState('EXTERNAL exchange already finished');
    this.done = true;
    const external = this.options.externalIdentity;
    if (external === undefined) throw authFailed('EXTERNAL needs a verified TLS client certificate');
    if (response !== undefined && response.length > EXTERNAL_MAX_AUTHZID_OCTETS) throw malformedMessage('EXTERNAL authzid is too long');
    const requested = response === undefined || response.length === 0 ? undefined : utf8Strict(response, 'EXTERNAL authzid');
    if (requested !== undefined && /[\u0000-\u001f\u007f]/.test(requested)) throw malformedMessage('EXTERNAL authzid holds a control character');
    if (!(await authorizeWith(this.options.credentials, external, requested))) {
      throw saslFailure('BEEP_SASL_NOT_AUTHORIZED', `${external} may not act as ${requested}`, 537);
    }
    return { kind: 'success', identity: { mechanism: this.name, authcid: external, authzid: requested, identity: requested ?? external } };
  }
}

export function createExternalServer(options: ExternalServerOptions): SaslServerMechanism {
  return new ExternalServer(options);
}

export function createExternalClient(options: { authzid?: string | undefined } = {}): SaslClientMechanism {
  return new SingleMessageClient('EXTERNAL', Buffer.from(options.authzid ?? '', 'utf8'), 'the authzid');
}
