import { expect } from 'chai';
import { Logger } from '../src/log.js';

function sink() {
  const lines: string[] = [];
  return { lines, stream: { write: (s: string) => (lines.push(s), true) } };
}

describe('gateway structured logger', () => {
  it('writes one JSON line per event with time, level, msg and fields', () => {
    const s = sink();
    const log = new Logger({ level: 'info', stream: s.stream, now: () => new Date(0) });
    log.child({ component: 'beep', session: 3 }).info('listening', { address: '127.0.0.1:1', err: new RangeError('x') });
    expect(s.lines).to.have.length(1);
    expect(s.lines[0]!.endsWith('\n')).to.equal(true);
    expect(JSON.parse(s.lines[0]!)).to.deep.equal({
      time: '1970-01-01T00:00:00.000Z', level: 'info', msg: 'listening', component: 'beep', session: 3,
      address: '127.0.0.1:1', err: { name: 'RangeError', message: 'x' },
    });
  });

  it('filters by level and never lets fields override time/level/msg', () => {
    const s = sink();
    const log = new Logger({ level: 'warn', stream: s.stream });
    log.debug('no');
    log.info('no');
    log.warn('yes', { level: 'fake', msg: 'fake' });
    log.error('yes');
    expect(s.lines.map((l) => JSON.parse(l).level)).to.deep.equal(['warn', 'error']);
    expect(JSON.parse(s.lines[0]!).msg).to.equal('yes');
    const silent = sink();
    new Logger({ level: 'silent', stream: silent.stream }).error('x');
    expect(silent.lines).to.have.length(0);
  });

  it('survives unserializable fields and a throwing stream', () => {
    const s = sink();
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    new Logger({ stream: s.stream }).info('x', { cyclic });
    expect(JSON.parse(s.lines[0]!).note).to.match(/not serializable/);
    expect(() => new Logger({ stream: { write: () => { throw new Error('EPIPE'); } } }).info('x')).not.to.throw();
  });
});
