/** Constants of the RDB file format (Redis src/rdb.h), shared by the writer and the reader. */

export const RDB_MAGIC = Buffer.from('REDIS', 'latin1');

/**
 * The version the writer emits. 9 is what Redis 5.0-6.2 write; every construct the writer uses (types 0/1/2/4,
 * AUX, RESIZEDB, EXPIRETIME_MS) exists in it, so Redis 5 through 7.x (which load <= 10 / <= 11) and Valkey load it.
 */
export const RDB_WRITE_VERSION = 9;
/** Highest version the reader accepts (Redis 7.2 writes 11, Valkey 8 writes 11). */
export const RDB_MAX_READ_VERSION = 12;

export enum RdbType {
  STRING = 0,
  LIST = 1,
  SET = 2,
  ZSET = 3,
  HASH = 4,
  ZSET_2 = 5,
  MODULE = 6,
  MODULE_2 = 7,
  HASH_ZIPMAP = 9,
  LIST_ZIPLIST = 10,
  SET_INTSET = 11,
  ZSET_ZIPLIST = 12,
  HASH_ZIPLIST = 13,
  LIST_QUICKLIST = 14,
  STREAM_LISTPACKS = 15,
  HASH_LISTPACK = 16,
  ZSET_LISTPACK = 17,
  LIST_QUICKLIST_2 = 18,
  STREAM_LISTPACKS_2 = 19,
  SET_LISTPACK = 20,
  STREAM_LISTPACKS_3 = 21,
}

export enum RdbOpcode {
  FUNCTION2 = 0xf5,
  FUNCTION_PRE_GA = 0xf6,
  MODULE_AUX = 0xf7,
  IDLE = 0xf8,
  FREQ = 0xf9,
  AUX = 0xfa,
  RESIZEDB = 0xfb,
  EXPIRETIME_MS = 0xfc,
  EXPIRETIME = 0xfd,
  SELECTDB = 0xfe,
  EOF = 0xff,
}

/** Length-encoding prefixes (two top bits of the first byte; 00 is a 6-bit length). */
export const RDB_14BITLEN = 1;
export const RDB_32BITLEN = 0x80;
export const RDB_64BITLEN = 0x81;
export const RDB_ENCVAL = 3;

/** Special string encodings (after an RDB_ENCVAL prefix). */
export const RDB_ENC_INT8 = 0;
export const RDB_ENC_INT16 = 1;
export const RDB_ENC_INT32 = 2;
export const RDB_ENC_LZF = 3;

/** Quicklist 2 node containers. */
export const QUICKLIST_NODE_PLAIN = 1;
export const QUICKLIST_NODE_PACKED = 2;
