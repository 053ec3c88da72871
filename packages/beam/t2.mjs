import { RespConn, words } from '/work/wt/lua/packages/beam/dist/test/context/helpers.js';
import { readFileSync } from 'node:fs';
const src = readFileSync('/work/wt/lua/packages/beam/dist/test/server/differential-data.test.js', 'utf8');
const m = src.match(/const SEQUENCES = (\[[\s\S]*?\n\]);/);
const SEQ = eval(m[1]);
const c = await RespConn.connect(7712);
const which = process.argv[2].split(',').map(Number);
for (const i of which) {
  for (const l of ['FLUSHALL', 'SCRIPT FLUSH', 'FUNCTION FLUSH', ...SEQ[i]]) {
    const r = await c.send(words(l.replace(/^[~!]/, '')));
    if (l.includes('cjson.encode({1,2,3')) console.log(i, l, '=>', JSON.stringify(r));
  }
}
c.close();
