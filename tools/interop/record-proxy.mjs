// Recording TCP proxy: node record-proxy.mjs LISTEN_PORT TARGET_PORT OUT_PREFIX
// Each accepted connection i is forwarded to 127.0.0.1:TARGET_PORT and recorded to OUT_PREFIX-i.jsonl:
// one line per chunk {"t": ms, "dir": "c2s"|"s2c", "b64": ...}, plus {"dir": "end", "side": ...}.
import net from 'node:net';
import fs from 'node:fs';
const [lp, tp, prefix] = process.argv.slice(2);
let n = 0;
const server = net.createServer((c) => {
  const file = `${prefix}-${n++}.jsonl`;
  const out = fs.createWriteStream(file);
  const t0 = Date.now();
  const rec = (dir, buf) => out.write(JSON.stringify({ t: Date.now() - t0, dir, b64: buf.toString('base64') }) + '\n');
  const s = net.connect(Number(tp), '127.0.0.1');
  c.on('data', (d) => { rec('c2s', d); s.write(d); });
  s.on('data', (d) => { rec('s2c', d); c.write(d); });
  c.on('end', () => { out.write(JSON.stringify({ dir: 'end', side: 'client' }) + '\n'); s.end(); });
  s.on('end', () => { out.write(JSON.stringify({ dir: 'end', side: 'server' }) + '\n'); c.end(); });
  c.on('error', () => s.destroy()); s.on('error', () => c.destroy());
  c.on('close', () => setTimeout(() => out.end(), 50));
});
server.listen(Number(lp), '127.0.0.1', () => console.log(`recording 127.0.0.1:${lp} -> ${tp} into ${prefix}-N.jsonl`));
