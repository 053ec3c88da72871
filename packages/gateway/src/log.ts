/**
 * The gateway logs through the shared logger of @beamgate/base (docs/gateway.md §6.1): the library is silent
 * unless given one, and `beamgate serve` creates it (JSON lines on stderr, `name` "beamgate").
 */
export { createLogger, isLogLevel, LOG_LEVELS, silentLogger, type LogFields, type Logger, type LoggerOptions, type LogLevel } from '@beamgate/base';
