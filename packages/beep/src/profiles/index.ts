/** Tuning profiles: TLS (RFC 3080 §3) and SASL (RFC 3080 §4). */
export * from './sasl/index.js';
export * from './tls/index.js';
export { buildErrorElement, parseErrorElement } from './xml/error-element.js';
export type { ProfileError } from './xml/error-element.js';
export { parseProfileXml, unwrapCdata } from './xml/profile-xml.js';
export type { ParseProfileXmlOptions } from './xml/profile-xml.js';
export * from './tuning/index.js';
