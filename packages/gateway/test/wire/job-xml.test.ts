import { expect } from 'chai';
import {
  buildAttach, buildError, buildExit, buildJob, buildJobId, buildSignal, buildStatus, parseError, parseFinalAnswer,
  parseInputRequest, parseJobId, parseJobRequest, parsePeerMessage, parseSignal, parseStatus, type JobSpec,
} from '../../src/wire/job-xml.js';
import { GatewayXmlError } from '../../src/errors.js';
import { GatewayUsageError } from '../../src/errors.js';

const b = (s: string) => Buffer.from(s);

describe('gateway wire: job profile XML', () => {
  it('parses the DESIGN example', () => {
    const r = parseJobRequest("<job name='ls'><arg>ls</arg><arg>-l</arg><env name='DEBUG'>1</env></job>");
    expect(r.kind).to.equal('job');
    if (r.kind !== 'job') return;
    expect(r.spec.name).to.equal('ls');
    expect(r.spec.args.map(String)).to.deep.equal(['ls', '-l']);
    expect(r.spec.env.map(([k, v]) => [k, String(v)])).to.deep.equal([['DEBUG', '1']]);
    expect(r.spec.detach).to.equal(false);
    expect(r.spec.input).to.equal(true);
  });

  it('defaults argv to [name], keeps empty args, reads detach, input and base64', () => {
    const r = parseJobRequest("<job name='cat' detach='true' input='none'/>");
    if (r.kind !== 'job') throw new Error('kind');
    expect(r.spec.args.map(String)).to.deep.equal(['cat']);
    expect(r.spec.detach).to.equal(true);
    expect(r.spec.input).to.equal(false);
    const r2 = parseJobRequest("<job name='x'><arg/><arg encoding='base64'>/wA=</arg><env name='E' encoding='base64'>aGk=</env></job>");
    if (r2.kind !== 'job') throw new Error('kind');
    expect(r2.spec.args[0]!.length).to.equal(0);
    expect([...r2.spec.args[1]!]).to.deep.equal([0xff, 0]);
    expect(String(r2.spec.env[0]![1])).to.equal('hi');
  });

  it("reads start='create' and refuses other start values", () => {
    const r = parseJobRequest("<job name='echo' start='create'/>");
    expect(r.kind === 'job' && r.spec.early).to.equal(true);
    const d = parseJobRequest("<job name='echo' start='run'/>");
    expect(d.kind === 'job' && d.spec.early).to.equal(undefined);
    expect(() => parseJobRequest("<job name='echo' start='now'/>")).to.throw(GatewayXmlError, /start/);
    expect(buildJob({ name: 'e', args: [b('e')], env: [], detach: false, input: true, early: true })).to.equal("<job name='e' start='create'><arg>e</arg></job>");
  });

  it('parses <attach id>', () => {
    expect(parseJobRequest("<attach id='42'/>")).to.deep.equal({ kind: 'attach', id: 42 });
    expect(parseJobRequest(buildAttach(7))).to.deep.equal({ kind: 'attach', id: 7 });
  });

  const invalid: Array<[string, RegExp]> = [
    ['<job/>', /name/],
    ["<job name=''/>", /1 to 256/],
    ["<job name='a&#10;b'/>", /control/],
    ["<job name='x' detach='yes'/>", /detach/],
    ["<job name='x' input='all'/>", /input/],
    ["<job name='x' color='red'/>", /unknown attribute/],
    ["<job name='x'><argv>1</argv></job>", /unknown element/],
    ["<job name='x'><env>1</env></job>", /name attribute/],
    ["<job name='x'><env name='A=B'>1</env></job>", /'='/],
    ["<job name='x'><env name='A'>1</env><env name='A'>2</env></job>", /twice/],
    ["<job name='x'><env name='A'>1</env><arg>a</arg></job>", /precede/],
    ["<job name='x'><arg encoding='base64'>!!</arg></job>", /base64/],
    ["<job name='x'><arg encoding='hex'>00</arg></job>", /encoding/],
    ["<job name='x'><arg><b/></arg></job>", /text only/],
    ["<job name='x'>text</job>", /text/],
    ["<attach/>", /id/],
    ["<attach id='01'/>", /decimal/],
    ["<attach id='-1'/>", /decimal/],
    ['<run/>', /expected <job> or <attach>/],
  ];
  for (const [xml, why] of invalid) {
    it(`refuses ${xml} with 501`, () => {
      expect(() => parseJobRequest(xml)).to.throw(GatewayXmlError, why).with.property('replyCode', 501);
    });
  }

  it('enforces argument, env and size limits', () => {
    expect(() => parseJobRequest("<job name='x'><arg>1</arg><arg>2</arg></job>", { maxArgs: 1 })).to.throw(GatewayXmlError, /more than 1/);
    expect(() => parseJobRequest("<job name='x'><env name='a'>1</env><env name='b'>2</env></job>", { maxEnv: 1 })).to.throw(GatewayXmlError, /more than 1/);
    expect(() => parseJobRequest(`<job name='x'><arg>${'a'.repeat(5000)}</arg></job>`, { maxBytes: 4096 })).to.throw(GatewayXmlError, /limit 4096/);
  });

  it('refuses a <job> over the default limits and bytes that are not UTF-8, with 501', () => {
    const args = "<job name='x'>" + '<arg/>'.repeat(4097) + '</job>';
    expect(() => parseJobRequest(args)).to.throw(GatewayXmlError, /more than 4096 <arg>/).with.property('replyCode', 501);
    expect(parseJobRequest("<job name='x'>" + '<arg/>'.repeat(4096) + '</job>')).to.have.nested.property('spec.args.length', 4096);
    let envs = '';
    for (let i = 0; i <= 1024; i++) envs += `<env name='V${i}'/>`;
    expect(() => parseJobRequest(`<job name='x'>${envs}</job>`)).to.throw(GatewayXmlError, /more than 1024 <env>/);
    const huge = `<job name='x'><env name='BIG'>${'v'.repeat(70000)}</env></job>`;
    expect(() => parseJobRequest(huge)).to.throw(GatewayXmlError, /limit 65536/).with.property('replyCode', 501);
    const latin1 = Buffer.concat([b("<job name='x'><arg>"), Buffer.from([0xe9]), b('</arg></job>')]);
    expect(() => parseJobRequest(latin1)).to.throw(GatewayXmlError, /UTF-8/).with.property('replyCode', 501);
    expect(() => parsePeerMessage(b('<run>\u0001</run>'))).to.throw(GatewayXmlError, /character/);
  });

  it('keeps an <error> with characters XML cannot carry parseable', () => {
    const xml = buildError(550, 'exec: bad name a\u0001b\uFFFEc\uD800');
    expect(parseError(xml)).to.deep.equal({ code: 550, text: 'exec: bad name a\uFFFDb\uFFFDc\uFFFD' });
  });

  it('round-trips a job spec, using base64 only where needed', () => {
    const spec: JobSpec = {
      name: 'ls',
      args: [b('ls'), b("it's <a> & b\r\n"), Buffer.from([0xc3, 0x28]), b(''), b('nul\u0000')],
      env: [['K', b('v')], ['BIN', Buffer.from([0xff])]],
      detach: true,
      input: false,
    };
    const xml = buildJob(spec);
    expect(xml).to.match(/^<job name='ls' detach='true' input='none'><arg>ls<\/arg>/);
    expect(xml).to.include("<arg encoding='base64'>wyg=</arg>");
    const back = parseJobRequest(xml);
    expect(back).to.deep.equal({ kind: 'job', spec });
  });

  it('builds and parses the job id reply', () => {
    expect(buildJobId(7)).to.equal("<job id='7'/>");
    expect(parseJobId("<job id='7'/>")).to.equal(7);
    expect(() => parseJobId("<job name='x'/>")).to.throw(GatewayXmlError);
  });

  it('parses peer messages on a job channel', () => {
    expect(parsePeerMessage('<run/>')).to.deep.equal({ kind: 'run' });
    expect(parsePeerMessage(b('<status/>'))).to.deep.equal({ kind: 'status' });
    const m = parsePeerMessage("<job name='cat'/>");
    expect(m.kind).to.equal('job');
    expect(() => parsePeerMessage("<run x='1'/>")).to.throw(GatewayXmlError, /unknown attribute/);
    expect(() => parsePeerMessage('<run>x</run>')).to.throw(GatewayXmlError, /empty|text/);
    expect(() => parsePeerMessage('<stop/>')).to.throw(GatewayXmlError, /unknown element/);
    expect(() => parseInputRequest('<input/>')).not.to.throw();
    expect(() => parseInputRequest('<run/>')).to.throw(GatewayXmlError);
  });

  it('builds and parses the final answer', () => {
    expect(buildExit(0)).to.equal("<exit status='0'/>");
    expect(parseFinalAnswer(buildExit(127))).to.deep.equal({ kind: 'exit', status: 127 });
    expect(buildError(421, 'context <down>')).to.equal("<error code='421'>context &lt;down&gt;</error>");
    expect(parseFinalAnswer(buildError(421, 'x'))).to.deep.equal({ kind: 'error', code: 421, text: 'x' });
    expect(parseError("<error code='550' xml:lang='en'>no</error>")).to.deep.equal({ code: 550, text: 'no', lang: 'en' });
    expect(() => parseFinalAnswer("<exit status='x'/>")).to.throw(GatewayXmlError);
    expect(() => parseError("<error code='5000'/>")).to.throw(GatewayXmlError);
    expect(() => buildExit(-1)).to.throw(GatewayUsageError);
    expect(() => buildError(42)).to.throw(GatewayUsageError);
  });

  it('builds and parses signals and status', () => {
    expect(parseSignal(buildSignal('TERM'))).to.equal('TERM');
    expect(() => parseSignal("<signal name='STOP'/>")).to.throw(GatewayXmlError);
    expect(buildStatus({ id: 3, state: 'exited', exit: 1 })).to.equal("<status id='3' state='exited' exit='1'/>");
    expect(parseStatus("<status id='3' state='running'/>")).to.deep.equal({ id: 3, state: 'running' });
    expect(() => parseStatus("<status id='3' state='gone'/>")).to.throw(GatewayXmlError);
  });
});
