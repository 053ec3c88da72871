// Turn recorded interop conversations (record-proxy.mjs JSONL files) into session vectors for the replayer
// (test-vectors/README.md, Session transcripts). The peer's octets become `send` steps exactly as captured; beamgate's
// octets become `expect` steps, one per frame, with the API action that produced them (start_channel, request,
// start_tls, authenticate, close_channel, close_session) placed before them when beamgate was the initiator. A
// conversation that turns to TLS is cut after `<proceed />` (the rest is ciphertext).
//
//   node tools/interop/capture-to-vectors.mjs SPEC.json CAPTURE_DIR OUT.json
//
// SPEC.json: {"description": ..., "peer": "Vortex 1.1 (...)", "vectors": [{"id", "capture" (file name in
// CAPTURE_DIR), "role" (beamgate's: initiator|listener), "description", "options"?, "sasl"? (authenticate
// parameters), "rules"?}]}. See docs/interop.md for the capture commands.
import fs from 'node:fs';
import path from 'node:path';

const [specFile, capDir, outFile] = process.argv.slice(2);
if (!outFile) {
  console.error('usage: capture-to-vectors.mjs SPEC.json CAPTURE_DIR OUT.json');
  process.exit(2);
}
const spec = JSON.parse(fs.readFileSync(specFile, 'utf8'));

/** Split one direction's octets into frames: [{header, kw, ch, msgno, more, bytes}] (bytes = the whole frame). */
function frames(buf) {
  const out = [];
  let i = 0;
  while (i < buf.length) {
    const eol = buf.indexOf('\r\n', i, 'latin1');
    if (eol < 0) throw new Error(`truncated header at ${i}`);
    const header = buf.subarray(i, eol).toString('latin1');
    const f = header.split(' ');
    const kw = f[0];
    if (kw === 'SEQ') {
      out.push({ header, kw, ch: Number(f[1]), bytes: buf.subarray(i, eol + 2) });
      i = eol + 2;
      continue;
    }
    const size = Number(f[5]);
    const end = eol + 2 + size + 5;
    if (buf.subarray(end - 5, end).toString('latin1') !== 'END\r\n') throw new Error(`no END after ${header}`);
    out.push({ header, kw, ch: Number(f[1]), msgno: Number(f[2]), more: f[3], payload: buf.subarray(eol + 2, end - 5), bytes: buf.subarray(i, end) });
    i = end;
  }
  return out;
}

/** The frames of a capture in time order, each with its direction; cut after a TLS <proceed/>. */
function conversation(file) {
  const lines = fs.readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const pending = { c2s: Buffer.alloc(0), s2c: Buffer.alloc(0) };
  const seq = [];
  let tls = false;
  for (const l of lines) {
    if (l.b64 === undefined || tls) continue;
    pending[l.dir] = Buffer.concat([pending[l.dir], Buffer.from(l.b64, 'base64')]);
    // Emit the complete frames of this direction, keep a partial one for the next chunk.
    let ok = 0;
    for (;;) {
      const rest = pending[l.dir].subarray(ok);
      const eol = rest.indexOf('\r\n', 0, 'latin1');
      if (eol < 0) break;
      const h = rest.subarray(0, eol).toString('latin1').split(' ');
      const len = h[0] === 'SEQ' ? eol + 2 : eol + 2 + Number(h[5]) + 5;
      if (rest.length < len) break;
      for (const f of frames(rest.subarray(0, len))) {
        seq.push({ dir: l.dir, ...f });
        if (f.kw === 'RPY' && f.ch === 0 && /<proceed\s*\/>/.test(f.payload.toString('latin1'))) tls = true;
      }
      ok += len;
      if (tls) break;
    }
    pending[l.dir] = pending[l.dir].subarray(ok);
  }
  return { seq, tls };
}

const latin1 = (b) => b.toString('latin1');
const ANY_SEQ = '(?:SEQ \\d+ \\d+ \\d+\\r\\n)*';
const xmlOf = (f) => latin1(f.payload).replace(/^[\s\S]*?\r\n\r\n/, '');

function vector(v) {
  const { seq, tls } = conversation(path.join(capDir, v.capture));
  const ours = v.role === 'initiator' ? 'c2s' : 's2c';
  const steps = [];
  const tuning = new Set();
  const open = new Set();
  // Whether the peer asked to release the session (closing 0) and we answered <ok />.
  let closing = -1;
  let released = false;
  const results = [];
  let n = 0;
  const act = (a) => {
    const id = `a${++n}`;
    steps.push({ action: a.action, id, ...a.params });
    return id;
  };
  for (const f of seq) {
    if (f.dir !== ours) {
      steps.push({ send: latin1(f.bytes) });
      if (f.kw === 'MSG' && f.ch === 0) closing = /<close number='0'/.test(xmlOf(f)) ? 0 : -1;
      continue;
    }
    if (v.role === 'initiator' && f.kw === 'MSG') {
      const xml = f.ch === 0 ? xmlOf(f) : '';
      const start = /<start number='(\d+)'[^>]*><profile uri='([^']+)'\s*(?:\/>|>(?:<!\[CDATA\[([\s\S]*?)\]\]>)?)/.exec(xml);
      const close = /<close number='(\d+)'/.exec(xml);
      if (start) {
        const [, num, uri, content] = start;
        if (uri === 'http://iana.org/beep/TLS') {
          tuning.add(Number(num));
          act({ action: 'start_tls' });
        } else if (uri.startsWith('http://iana.org/beep/SASL/')) {
          tuning.add(Number(num));
          results.push({ action_result: act({ action: 'authenticate', params: { mechanism: uri.slice(26), ...v.sasl } }) });
        } else {
          const id = act({ action: 'start_channel', params: { profile: uri, ...(content !== undefined ? { content } : {}) } });
          results.push({ action_result: id, ...(v.startRefused ? { ok: false, reply_code: v.startRefused } : {}) });
        }
      } else if (close && !tuning.has(Number(close[1]))) {
        const ch = Number(close[1]);
        act(ch === 0 ? { action: 'close_session' } : { action: 'close_channel', params: { channel: ch } });
      } else if (f.ch !== 0 && !tuning.has(f.ch)) {
        const key = `${f.ch}/${f.msgno}`;
        if (!open.has(key)) act({ action: 'request', params: { channel: f.ch, body: messageBody(seq, f) } });
        if (f.more === '*') open.add(key);
        else open.delete(key);
      }
    }
    // Our SEQ frames depend on when the application consumed the data, which differs between the live run and a
    // replay: any SEQ we send is accepted (and skipped) before each of our other frames, and never checked.
    if (f.kw === 'SEQ') continue;
    steps.push({ expect_match: ANY_SEQ }, { expect: latin1(f.bytes) });
    if (f.kw === 'RPY' && f.ch === 0 && /<ok\s*\/>/.test(latin1(f.payload)) && closing === 0) released = true;
    if (f.kw === 'MSG' && f.ch === 0) closing = /<close number='0'/.test(xmlOf(f)) ? 0 : closing;
  }
  steps.push({ expect_match: ANY_SEQ });
  if (tls) steps.push({ expect_nothing: true });
  else if (v.role === 'listener' && released) steps.push({ expect_close: null });
  else steps.push(...results, { expect_nothing: true });
  return {
    id: v.id,
    rule: v.rules?.[0] ?? 'F.34',
    rules: v.rules ?? ['F.34'],
    description: `${v.description} [captured from ${spec.peer}, beamgate as ${v.role}]`,
    role: v.role,
    peer: spec.peer,
    options: { receiveWindow: 65536, ...(v.options ?? {}) },
    steps,
  };
}

/** The whole body of the message whose first frame is `first` (its frames' payloads, less the empty header block). */
function messageBody(seq, first) {
  const parts = [];
  for (const f of seq.slice(seq.indexOf(first))) {
    if (f.dir !== first.dir || f.kw !== 'MSG' || f.ch !== first.ch || f.msgno !== first.msgno) continue;
    parts.push(f.payload);
    if (f.more === '.') break;
  }
  const body = latin1(Buffer.concat(parts));
  if (!body.startsWith('\r\n')) throw new Error(`MSG ${first.ch} ${first.msgno} carries MIME headers: not a plain request`);
  return body.slice(2);
}

const vectors = spec.vectors.map(vector);
fs.writeFileSync(outFile, JSON.stringify({ kind: 'beep-session', version: 1, description: spec.description, vectors }, null, 0).replace(/\{"id"/g, '\n{"id"') + '\n');
console.log(`${vectors.length} vectors -> ${outFile}`);
