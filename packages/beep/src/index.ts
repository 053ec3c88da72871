export * from './wire/frame.js';
