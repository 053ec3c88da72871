// Micro-benchmark: channel-0 XML parse cost (a typical <start> and a greeting), N iterations each.
// Usage: npm run build && node bench/beep/xml.js [iterations]
import { parseChannel0 } from '../../packages/beep/dist/src/index.js';

const n = Number(process.argv[2] ?? 100000);
const docs = {
  start: "<start number='1'>\r\n  <profile uri='http://iana.org/beep/SASL/PLAIN'><![CDATA[<blob>AGJvYgBzZWNyZXQ=</blob>]]></profile>\r\n</start>",
  greeting: "<greeting features='x-foo' localize='en'>\r\n  <profile uri='http://iana.org/beep/TLS' />\r\n  <profile uri='http://iana.org/beep/SASL/PLAIN' />\r\n  <profile uri='http://example.com/beep/echo' />\r\n</greeting>",
};
const out = {};
for (const [name, doc] of Object.entries(docs)) {
  for (let i = 0; i < 2000; i++) parseChannel0(doc);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) parseChannel0(doc);
  const ns = Number(process.hrtime.bigint() - t0);
  out[name] = { iterations: n, totalMs: Math.round(ns / 1e6), usPerParse: +(ns / n / 1000).toFixed(2) };
}
console.log(JSON.stringify(out));
