/** The sans-IO wire layer of @beamgate/beep: frames, SEQ, seqno arithmetic, MIME entities, channel-0 XML. */
export * from './frame.js';
export * from './frame-parser.js';
export * from './frame-encoder.js';
export * from './seqno.js';
export * from './mime.js';
export * from './xml/index.js';
