export { attachJobs, JobEngine, type AttachJobsOptions, type FilterTarget, type JobCheck } from './engine.js';
export { HandlerRegistry, type JobHandler, type JobIO } from './handler.js';
export { DEFAULT_LIMITS, DEFAULT_KILL_GRACE_MS, DEFAULT_RETAIN_FINISHED_MS, DEFAULT_UNSTARTED_TTL_MS, type JobEngineOptions, type JobLimits, type SharedContextHooks } from './options.js';
export { JobSignalError, SIGNALS, parseSignal, type SignalName } from './signals.js';
export { encodeFrame, parseFrame, type Frame } from './frames.js';
export { EXEC_KEY, HANDLERS_KEY, JOBS_DB, JOBS_KEY, jobKey, parseJobKey } from './keys.js';
export { checkJob, type JobCatalog } from './catalog.js';
export { EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND } from './exec.js';
export type { JobContext } from './store.js';
