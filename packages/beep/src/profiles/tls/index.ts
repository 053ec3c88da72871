export * from './tls-xml.js';
export * from './tls-profile.js';
export * from './self-signed.js';
export * from './upgrade.js';
