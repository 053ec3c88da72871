#!/usr/bin/env node
/** The `beep` command: `beep listen`, `beep connect`, `beep conform` (see `beep COMMAND --help`, docs/cli.md). */
import { main } from '@beamgate/base';
import { runConform } from './conform.js';
import { runConnect } from './connect.js';
import { runListen } from './listen.js';

main({
  name: 'beep',
  summary: 'BEEP (RFC 3080/3081) debugging tool: a listener with test profiles, an initiator, a conformance checker.',
  packageJson: new URL('../../../package.json', import.meta.url),
  commands: [
    { name: 'listen', summary: 'accept BEEP sessions and serve the built-in test profiles (echo, ans, sink, hold)', run: runListen },
    { name: 'connect', summary: 'open a channel to a BEEP peer, send messages, print the replies (or measure throughput)', run: runConnect },
    { name: 'conform', summary: 'check a live BEEP peer against the rules of test-vectors/rules.json', run: runConform },
  ],
  footer: 'Exit status: 0 success, 1 failure (ERR reply, failed rule), 2 usage or connection error; docs/cli.md.',
});
