/** Frame shapes shared by the parser, the encoder and the session (RFC 3080 §2.2, RFC 3081 §3.1). */

export type DataKeyword = 'MSG' | 'RPY' | 'ERR' | 'ANS' | 'NUL';

export interface DataFrame {
  type: DataKeyword;
  channel: number;
  msgno: number;
  /** true for `*` (more frames follow), false for `.` */
  more: boolean;
  seqno: number;
  /** Present only on ANS frames. */
  ansno?: number;
  payload: Buffer;
}

export interface SeqFrame {
  type: 'SEQ';
  channel: number;
  ackno: number;
  window: number;
}

export type Frame = DataFrame | SeqFrame;

/** A data frame's header as parsed, before its payload is read (lets the session check windows first). */
export interface DataFrameHeader {
  type: DataKeyword;
  channel: number;
  msgno: number;
  more: boolean;
  seqno: number;
  size: number;
  ansno?: number;
}

export const MAX_31 = 2147483647;
export const MAX_32 = 4294967295;
export const DEFAULT_WINDOW = 4096;
