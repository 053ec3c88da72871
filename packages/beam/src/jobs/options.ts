/** Limits and knobs of the job engine. Every one has a safe default (docs/beam.md lists them). */
export interface JobLimits {
  /** Jobs running at once; a start beyond it gets `-ERR` (nothing changes, the client may retry). */
  maxJobs: number;
  /** Jobs created and not yet started nor reclaimed; an `RPUSH /jobs` beyond it gets `-ERR` (retry later). */
  maxUnstartedJobs: number;
  /** Elements of `/jobs/$id/args`. */
  maxArgs: number;
  /** Bytes of all args of one job together. */
  maxArgsBytes: number;
  /** Fields of `/jobs/$id/env`. */
  maxEnvEntries: number;
  /** Bytes of all env names and values of one job together. */
  maxEnvBytes: number;
  /** Highest stream number in a frame (input or output). */
  maxStream: number;
  /** Frames `/jobs/$id/out` may hold, close frames included; the handler's writes wait for a reader (at least 3). */
  maxQueuedOutputFrames: number;
  /** Bytes `/jobs/$id/out` may hold, close frames included; a frame is cut to fit (at least 16). */
  maxQueuedOutputBytes: number;
  /** Largest data part of one output frame; larger writes are split. */
  maxOutputFrameBytes: number;
  /** Input frames queued in `/jobs/$id/in`; an RPUSH beyond it gets `-ERR` (retry after the job reads). */
  maxQueuedInputFrames: number;
  /** Input bytes queued in `/jobs/$id/in`. */
  maxQueuedInputBytes: number;
  /** Bytes buffered in each handler-side input Readable / output Writable. */
  streamHighWaterMark: number;
}

/**
 * For an engine that shares its context with other engines (`beam worker` on a real Redis): starts are claimed
 * outside the engine, so it neither remembers started ids nor publishes `/beam/handlers`, and the owner of the
 * claim publishes a job's exit (`finish`), so that it can publish it again if the server loses it.
 */
import { BeamOptionError } from '../errors.js';
export interface SharedContextHooks {
  /**
   * At exit, once the output is closed: writes `/jobs/$id/status` and pushes `/jobs/$id/wait` if this engine still
   * owns the job (its claim holds), and says whether it did. The engine then cleans up the job's keys.
   */
  finish(id: number, status: number): Promise<boolean>;
}

export interface JobEngineOptions {
  /** Set when the context is shared with other engines (see SharedContextHooks). */
  shared?: SharedContextHooks;
  /** Extra handlers by name (added after the built-ins, so they can replace them). */
  handlers?: Record<string, import('./handler.js').JobHandler> | Map<string, import('./handler.js').JobHandler>;
  /** Program names that may be run as jobs (exact match, no shell). Empty by default: nothing runs. */
  exec?: readonly string[];
  /** Pass the server's whole environment to exec'd programs (default: only PATH, HOME, LANG, LC_ALL, TZ, TMPDIR). */
  execInheritEnv?: boolean;
  /** Working directory of exec'd programs (default: the server's). */
  execCwd?: string;
  limits?: Partial<JobLimits>;
  /** Finished jobs' keys expire this long after exit (PEXPIRE). 0 keeps them forever. Default 1 hour. */
  retainFinishedMs?: number;
  /**
   * A job created but not started within this long is reclaimed: its keys are deleted and a later start is
   * refused. 0 keeps unstarted jobs until FLUSHDB. Default 10 minutes.
   */
  unstartedTtlMs?: number;
  /** After a signal other than KILL, a job still running after this long is killed. Default 5 s. */
  killGraceMs?: number;
}

export const DEFAULT_LIMITS: Readonly<JobLimits> = {
  maxJobs: 256,
  maxUnstartedJobs: 10000,
  maxArgs: 4096,
  maxArgsBytes: 1024 * 1024,
  maxEnvEntries: 1024,
  maxEnvBytes: 1024 * 1024,
  maxStream: 255,
  maxQueuedOutputFrames: 1024,
  maxQueuedOutputBytes: 8 * 1024 * 1024,
  maxOutputFrameBytes: 64 * 1024,
  maxQueuedInputFrames: 1024,
  maxQueuedInputBytes: 8 * 1024 * 1024,
  streamHighWaterMark: 64 * 1024,
};

export const DEFAULT_RETAIN_FINISHED_MS = 60 * 60 * 1000;
export const DEFAULT_KILL_GRACE_MS = 5000;
export const DEFAULT_UNSTARTED_TTL_MS = 10 * 60 * 1000;

export function resolveLimits(partial: Partial<JobLimits> | undefined): JobLimits {
  const limits = { ...DEFAULT_LIMITS, ...partial };
  for (const [k, v] of Object.entries(limits)) {
    if (!Number.isSafeInteger(v) || v < 1) throw new BeamOptionError(`job limit ${k} must be a positive integer, got ${v}`);
  }
  // Room for the close frames of stdout and stderr plus one data frame.
  if (limits.maxQueuedOutputFrames < 3) throw new BeamOptionError(`job limit maxQueuedOutputFrames must be at least 3, got ${limits.maxQueuedOutputFrames}`);
  if (limits.maxQueuedOutputBytes < 16) throw new BeamOptionError(`job limit maxQueuedOutputBytes must be at least 16, got ${limits.maxQueuedOutputBytes}`);
  return limits;
}
