/**
 * What a job engine can run, and the one rule that decides whether a job NAME with argv ARGS would run. The engine
 * answers from memory (`engine.check`); a client of a remote engine answers from the catalog the engine publishes
 * under `/beam/handlers` and `/beam/exec` (keys.ts). Both go through `checkJob`, so they cannot drift apart.
 */

/** Whether a job would run: a handler or allowed program exists, nothing does, or exec refuses it. */
export type JobCheck = 'ok' | 'unknown' | 'forbidden';

/** The facts `checkJob` needs; every answer is synchronous (a remote caller fetches them first). */
export interface JobCatalog {
  /** A handler is registered under this name. */
  hasHandler(name: string): boolean;
  /** The handler registered under this name is the built-in `exec` (runs argv[1] when it is allow-listed). */
  isExecBuiltin(name: string): boolean;
  /** The program is in the exec allow-list. */
  execAllowed(program: string): boolean;
}

/**
 * 'ok' (a handler or an allowed program runs), 'unknown' (no handler and no allowed program: the job would exit
 * 127) or 'forbidden' (`exec` of a program outside the allow-list: exit 126). A handler always wins over a
 * program of the same name, as in the engine.
 */
export function checkJob(catalog: JobCatalog, name: string, args: readonly string[] = [name]): JobCheck {
  if (catalog.isExecBuiltin(name)) {
    const program = args[1];
    // `exec` without a program runs (and fails with its usage message): nothing to refuse up front.
    return program === undefined || catalog.execAllowed(program) ? 'ok' : 'forbidden';
  }
  if (catalog.hasHandler(name)) return 'ok';
  return catalog.execAllowed(name) ? 'ok' : 'unknown';
}
