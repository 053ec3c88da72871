#!/usr/bin/env node
// Committed entry point so npm links the command at install time; the CLI itself is compiled into dist/.
try {
  await import('../dist/src/cli/main.js');
} catch (err) {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('/dist/src/cli/main.js')) {
    process.stderr.write('this command is not built yet: run `npm run build` (tsc -b) at the repository root\n');
    process.exit(1);
  }
  throw err;
}
