/**
 * In-memory form of a RESP reply. Handlers return these; the RESP2/RESP3 encoders turn them into bytes.
 *
 * - `null`            RESP2 `$-1` (null bulk), RESP3 `_`
 * - `NULL_ARRAY`      RESP2 `*-1` (e.g. BLPOP timeout, aborted EXEC), RESP3 `_`
 * - `Buffer`/`string` bulk string (`string` is UTF-8 encoded)
 * - `number`/`bigint` integer (`number` must be a safe integer)
 * - `boolean`         RESP3 `#t`/`#f`, RESP2 integer 1/0
 * - `Reply[]`         array
 * - class wrappers below for the remaining RESP3 types (flattened or downgraded for RESP2)
 */
export class SimpleString {
  constructor(readonly value: string) {}
}

/** An error reply. `message` is the whole line after `-`, e.g. `ERR syntax error` or `WRONGTYPE ...`. */
export class ErrorReply {
  constructor(readonly message: string) {}
}

/** RESP3 map `%`; RESP2 flat array of key, value, key, value... */
export class RespMap {
  constructor(readonly entries: Array<[Reply, Reply]>) {}
}

/** RESP3 set `~`; RESP2 array. */
export class RespSet {
  constructor(readonly items: Reply[]) {}
}

/** RESP3 double `,`; RESP2 bulk string formatted as Redis does. */
export class RespDouble {
  constructor(readonly value: number) {}
}

/** RESP3 push `>` (pub/sub messages); RESP2 array. */
export class RespPush {
  constructor(readonly items: Reply[]) {}
}

/** RESP3 verbatim string `=` (e.g. INFO); RESP2 bulk string. `format` is three characters such as `txt`. */
export class RespVerbatim {
  constructor(readonly format: string, readonly text: string) {}
}

/**
 * Several top-level replies for one command, written one after the other (SUBSCRIBE a b answers once
 * per channel). Inside an EXEC array it is written the same way, as Redis does.
 */
export class MultiReply {
  constructor(readonly replies: Reply[]) {}
}

export const NULL_ARRAY: unique symbol = Symbol('NULL_ARRAY');

export type Reply =
  | null
  | typeof NULL_ARRAY
  | Buffer
  | string
  | number
  | bigint
  | boolean
  | Reply[]
  | SimpleString
  | ErrorReply
  | RespMap
  | RespSet
  | RespDouble
  | RespPush
  | RespVerbatim
  | MultiReply;

export const OK = new SimpleString('OK');
export const QUEUED = new SimpleString('QUEUED');
export const PONG = new SimpleString('PONG');

export function err(message: string): ErrorReply {
  return new ErrorReply(message);
}

export function isError(r: Reply): r is ErrorReply {
  return r instanceof ErrorReply;
}
