// Mistakes the public types must refuse. Every line ending in `// error TSnnnn` must fail with that code; no other
// line may fail. Compiled by ts-examples.test.ts as a consumer would (imports by package name).
import { listen, type Session } from '@beamgate/beep';
import { createServer, BeamClient } from '@beamgate/beam';

const l = await listen({ port: 0 });
l.on('session', (s: Session) => s.on('close', () => undefined));
l.on('sesion', () => undefined); // error TS2345
l.on('session', (s: string) => s); // error TS2345
const port: number = l.address().port;
const unix = await listen({ path: '/tmp/beamgate-example.sock' });
const path: string = unix.address();
unix.address().port; // error TS2339
const server = createServer({ port: 0 });
server.on('authFailure', (f) => f.address);
server.on('authfailure', () => undefined); // error TS2345
const mirror = await new BeamClient({ port: 6380 }).sync();
mirror.on('change', (c) => c.key);
mirror.on('changed', () => undefined); // error TS2345
mirror.emit('flush', 3); // error TS2345
void [port, path];
