import { ErrorReply } from '../wire/reply.js';

/** Shared error replies with Redis 7's exact texts (allocated once). */
export const E_WRONGTYPE = new ErrorReply('WRONGTYPE Operation against a key holding the wrong kind of value');
export const E_SYNTAX = new ErrorReply('ERR syntax error');
export const E_NOT_INT = new ErrorReply('ERR value is not an integer or out of range');
export const E_NOT_FLOAT = new ErrorReply('ERR value is not a valid float');
export const E_OVERFLOW = new ErrorReply('ERR increment or decrement would overflow');
export const E_NAN_INF = new ErrorReply('ERR increment would produce NaN or Infinity');
export const E_NO_KEY = new ErrorReply('ERR no such key');
export const E_INDEX_RANGE = new ErrorReply('ERR index out of range');
export const E_TIMEOUT_FLOAT = new ErrorReply('ERR timeout is not a float or out of range');
export const E_TIMEOUT_NEG = new ErrorReply('ERR timeout is negative');
export const E_TIMEOUT_RANGE = new ErrorReply('ERR timeout is out of range');
export const E_POSITIVE = new ErrorReply('ERR value is out of range, must be positive');
/** HRANDFIELD/SRANDMEMBER count outside -LONG_MAX..LONG_MAX (Redis' getRangeLongFromObjectOrReply). */
export const E_COUNT_RANGE = new ErrorReply('ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807');
export const E_DB_RANGE = new ErrorReply('ERR DB index is out of range');
export const E_STRING_LIMIT = new ErrorReply('ERR string exceeds maximum allowed size (proto-max-bulk-len)');
export const E_HASH_NOT_INT = new ErrorReply('ERR hash value is not an integer');
export const E_HASH_NOT_FLOAT = new ErrorReply('ERR hash value is not a float');
export const E_INVALID_CURSOR = new ErrorReply('ERR invalid cursor');
export const E_SAME_OBJECT = new ErrorReply('ERR source and destination objects are the same');

export function wrongArgs(name: string): ErrorReply {
  return new ErrorReply(`ERR wrong number of arguments for '${name}' command`);
}

export function invalidExpire(name: string): ErrorReply {
  return new ErrorReply(`ERR invalid expire time in '${name}' command`);
}
