#!/usr/bin/env node
/** The `beam` command (see `beam COMMAND --help`, docs/cli.md). */
import { EXIT, main } from '@beamgate/base';
import { conform } from './conform.js';
import { run } from './run.js';
import { serve } from './serve.js';
import { sync } from './sync.js';
import { worker } from './worker.js';

main({
  name: 'beam',
  summary: 'The Beam job protocol over RESP: a server, a client, a worker for real Redis, a replication mirror and a checker.',
  packageJson: new URL('../../../package.json', import.meta.url),
  commands: [
    { name: 'serve', summary: 'serve the Beam job protocol over RESP (TCP or unix socket)', run: serve },
    { name: 'run', summary: 'run a job on a Beam server and stream its output', run, failureStatus: EXIT.RUN_FAILED },
    { name: 'worker', summary: 'run jobs for clients of a real Redis (standalone, Sentinel or Cluster)', run: worker },
    { name: 'sync', summary: "mirror a server's dataset over replication and print changes as they happen", run: sync },
    { name: 'conform', summary: 'check a Beam server against the job protocol rules of test-vectors/rules.json', run: conform },
  ],
  footer: 'Exit status: 0 success, 1 failure, 2 usage error; beam run: the job\'s status, 125 when beam fails (docs/cli.md).',
});
