export * from './safe-xml.js';
export * from './channel0.js';
export * from './build.js';
