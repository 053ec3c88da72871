/** @beamgate/base: what @beamgate/beep, @beamgate/beam and @beamgate/gateway share. Internal: no stability promise. */
export { createLogger, isLogLevel, LOG_LEVELS, silentLogger, type Logger, type LoggerOptions, type LogFields, type LogLevel } from './log/logger.js';
export { formatPretty } from './log/pretty.js';
export {
  Counter, createMetricsRegistry, DURATION_BUCKETS, Gauge, Histogram, LATENCY_BUCKETS, Registry, SIZE_BUCKETS, type MetricsRegistryOptions,
} from './metrics/registry.js';
export { serveMetrics, type MetricsServer, type ServeMetricsOptions } from './metrics/serve.js';
export { bindError, EXIT, formatError, isUsageError, UsageError, withHint } from './cli/errors.js';
export { formatTarget, parseHostPort, parseTarget, type Target, type TargetOptions, type TargetScheme } from './cli/target.js';
export {
  CLIENT_AUTH_FLAGS, CLIENT_TLS_FLAGS, clientTlsFrom, CONFIG_FLAG, flagHelp, LOG_LEVEL_FLAG, METRICS_FLAG, parseArgsOptions, readPemFlag,
  readUsersFile, renameFlags, secondsFlag, SERVER_TLS_FLAGS, serverTlsFrom, type ClientTlsValues, type FlagSpec, type ServerTlsChoice, type ServerTlsValues,
} from './cli/flags.js';
export { createProgram, main, readVersion, runProgram, type ProgramSpec, type SubcommandSpec } from './cli/program.js';
export { TypedEventEmitter, type EventMap } from './typed-emitter.js';
export { BeamgateError, ConfigError } from './errors.js';
export { documentedErrorCodes, readErrorsDoc } from './error-codes.js';
export { generateSelfSigned, type ClientTlsOptions, type Pem, type SelfSignedCertificate, type SelfSignedOptions } from './tls.js';
export { AuthThrottle, DEFAULT_AUTH_THROTTLE, normalizeAddress, type AuthThrottleOptions } from './auth-throttle.js';
