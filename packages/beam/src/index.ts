export * from './wire/reply.js';
export type * from './context/api.js';
