// Child processes of a bench: every one started through track() is SIGKILLed when the bench exits, on any path
// (normal end, thrown error, Ctrl-C, SIGTERM, SIGHUP).
// The exit and signal handlers are installed by the first track(), so that a bench's own child scripts, which
// import the same modules, keep their default signal handling.
const children = new Set();
let installed = false;

/** Registers `child` for the kill-on-exit sweep; returns it. */
export function track(child) {
  if (!installed) install();
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** SIGKILLs every tracked child still running. */
export function killAll() {
  for (const c of children) {
    try {
      c.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

function install() {
  installed = true;
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      killAll();
      process.exit(130);
    });
  }
}

/**
 * Asks `child` to stop (`ask`, by default SIGTERM) and waits for it to exit; SIGKILLs it after `graceMs`.
 * Resolves at once when it has already exited.
 */
export async function stopChild(child, { graceMs = 3000, ask = (c) => c.kill('SIGTERM') } = {}) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((resolve) => child.once('exit', resolve));
  ask(child);
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(t);
}
