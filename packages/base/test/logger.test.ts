import { expect } from 'chai';
import { createLogger, formatPretty } from '../src/index.js';

function capture(): { lines: Array<Record<string, unknown>>; write(s: string): boolean } {
  const lines: Array<Record<string, unknown>> = [];
  return { lines, write: (s: string) => (s.split('\n').filter(Boolean).forEach((l) => lines.push(JSON.parse(l) as Record<string, unknown>)), true) };
}

describe('base: logger', () => {
  it('writes one JSON shape: time, level, name, msg, then the fields', () => {
    const out = capture();
    const log = createLogger({ name: 'beep', stream: out, pretty: false });
    log.info('listening', { port: 10288, tls: false });
    expect(out.lines).to.have.length(1);
    const [rec] = out.lines;
    expect(Object.keys(rec!)).to.have.members(['level', 'time', 'name', 'msg', 'port', 'tls']);
    expect(rec).to.include({ level: 'info', name: 'beep', msg: 'listening', port: 10288, tls: false });
    expect(Date.parse(rec!['time'] as string)).to.be.a('number').and.not.NaN;
  });

  it('honours the level, renders errors without a stack unless debug, and children carry their fields', () => {
    const out = capture();
    const log = createLogger({ name: 'beam', level: 'warn', stream: out, pretty: false });
    log.info('dropped');
    log.child({ component: 'resp' }).warn('slow', { err: Object.assign(new Error('boom'), { code: 'E1' }), level: 'ignored' });
    expect(out.lines).to.have.length(1);
    expect(out.lines[0]).to.deep.include({ level: 'warn', component: 'resp', err: { name: 'Error', message: 'boom', code: 'E1' } });
    const dbg = capture();
    createLogger({ name: 'beam', level: 'debug', stream: dbg, pretty: false }).error('x', { err: new Error('boom') });
    expect((dbg.lines[0]!['err'] as { stack?: string }).stack).to.match(/boom/);
  });

  it('prints a human line for a terminal from the same record', () => {
    const line = formatPretty(JSON.stringify({ level: 'info', time: '2026-12-07T10:00:01.000Z', name: 'beep', msg: 'listening', port: 1, host: 'a b' }), false);
    expect(line).to.equal('10:00:01 INFO  beep listening port=1 host="a b"\n');
  });
});
