/** Public API of @beamgate/gateway. */
export { startGateway, Gateway, type GatewayOptions } from './gateway.js';
export { GatewayClient, type GatewayJob, type GatewayRunOptions } from './client/gateway-client.js';
export { beepHandler, parseBeepUrl } from './reverse/beep-handler.js';
export * from './errors.js';
export {
  loadConfig, parseAddress, parseContext, formatAddress, DEFAULT_LIMITS, ENV_NAMES,
  type Address, type ContextConfig, type GatewayConfig, type GatewayLimits, type ServeFlags, type LoadConfigOptions,
  type SecurityConfig, type AccessConfig, type TlsConfig, type SaslConfig,
} from './config.js';
export { createLogger, LOG_LEVELS, silentLogger, type Logger, type LogLevel, type LogFields, type LoggerOptions } from './log.js';
export { Registry, Counter, Gauge, Histogram, GatewayMetrics, metricValue, startMetricsServer, type MetricsServer, type Labels } from './metrics.js';
export * from './wire/job-xml.js';
export {
  STREAM_HEADER, encodeStreamData, encodeXmlEntity, encodePlainEntity, parseEntity, streamOf, classifyAnswer,
  entityFromPairs, type Entity, type StreamAnswer,
} from './wire/entity.js';
export { parseXml, buildXml, escapeXml, escapeAttr, type XmlElement } from './wire/xml.js';
