import { createWriteStream } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { debuglog } from 'node:util';
import type { ServerConfig } from '../context/config.js';
import type { Context } from '../context/context.js';
import { rdbReadable } from '../sync/rdb-writer.js';
import { replicationFor } from './replication.js';
import { BeamError } from '../errors.js';

const log = debuglog('beamgate:server');

/** What INFO persistence and LASTSAVE report for one Context. */
export interface SaveState {
  /** Unix seconds of the last successful save (server start until then). */
  lastSave: number;
  /** `context.dirty` when the last save started. */
  dirtyAtSave: number;
  inProgress: Promise<void> | null;
  lastStatus: 'ok' | 'err';
  lastError: string | null;
}

const states = new WeakMap<Context, SaveState>();

export function saveState(context: Context): SaveState {
  let s = states.get(context);
  if (!s) {
    s = { lastSave: Math.floor(Date.now() / 1000), dirtyAtSave: 0, inProgress: null, lastStatus: 'ok', lastError: null };
    states.set(context, s);
  }
  return s;
}

/**
 * Writes the Context as an RDB file to `dir`/`dbfilename` (from the config): a copy-on-write snapshot taken now,
 * serialized in chunks while commands keep running, written to a temporary file in the same directory and renamed
 * over the target (as redis-server does). Rejects while another save of this Context runs.
 */
export async function saveRdb(context: Context, config: ServerConfig): Promise<string> {
  const st = saveState(context);
  if (st.inProgress) throw new BeamError('BEAM_SAVE_IN_PROGRESS', 'Background save already in progress');
  const dir = config.get('dir') ?? process.cwd();
  const target = path.resolve(dir, config.get('dbfilename') ?? 'dump.rdb');
  const tmp = path.join(path.dirname(target), `temp-beam-${process.pid}-${Date.now()}.rdb`);
  const dirty = context.dirty;
  const snapshot = replicationFor(context).snapshot();
  const job = (async () => {
    try {
      await pipeline(rdbReadable(snapshot), createWriteStream(tmp, { mode: 0o600 }));
      await rename(tmp, target);
    } catch (e) {
      await unlink(tmp).catch(() => undefined);
      throw e;
    } finally {
      snapshot.release();
    }
  })();
  st.inProgress = job.then(() => undefined, () => undefined);
  try {
    await job;
    st.lastSave = Math.floor(Date.now() / 1000);
    st.dirtyAtSave = dirty;
    st.lastStatus = 'ok';
    st.lastError = null;
    log('saved %s', target);
    return target;
  } catch (e) {
    st.lastStatus = 'err';
    st.lastError = e instanceof Error ? e.message : String(e);
    log('save to %s failed: %s', target, st.lastError);
    throw e;
  } finally {
    st.inProgress = null;
  }
}
