/** One client's CLIENT TRACKING state (Redis' CLIENT_TRACKING_* flags, redirection and BCAST prefixes); server/tracking/ acts on it, CLIENT LIST shows part of it. */
export interface ClientTracking {
  /** Client id invalidations go to; 0 = this client (RESP3 pushes). */
  redirect: number;
  bcast: boolean;
  optin: boolean;
  optout: boolean;
  noloop: boolean;
  /** CLIENT CACHING yes (OPTIN) / no (OPTOUT) was given for the next command or transaction. */
  caching: boolean;
  /** The redirection client went away (CLIENT TRACKINGINFO `broken_redirect`, CLIENT LIST flag R). */
  brokenRedirect: boolean;
  /** BCAST prefixes as latin1 text of their bytes; '' = every key. */
  readonly prefixes: Set<string>;
}
