/**
 * The job profile's XML elements (docs/gateway.md §2): `<job>`, `<attach>`, the `<job id>` reply, `<run/>`,
 * `<input/>`, `<status/>`, `<exit>`, `<error>`, `<signal>`. Pure: no I/O.
 */
import { GatewayUsageError, GatewayXmlError } from '../errors.js';
import { buildXml, checkAttributes, el, parseXml, textOf, type XmlElement } from './xml.js';

export const JOB_PROFILE_URI = 'urn:beamgate:profile:job';
export const RESP_PROFILE_URI = 'urn:beamgate:profile:resp';
export const BEEP_XML_CONTENT_TYPE = 'application/beep+xml';

export interface JobSpec {
  /** Handler name: `RPUSH /jobs NAME`. */
  name: string;
  /** Full argv including argv[0]. */
  args: Buffer[];
  env: Array<[string, Buffer]>;
  detach: boolean;
  /** false for `input='none'`. */
  input: boolean;
  /** `start='create'`: the job starts when it is created, not at `<run/>` (saves a round trip). */
  early?: boolean;
}

export interface JobXmlLimits {
  /** Octets of XML text; default 65536 (start content is further bounded to 4096 by BEEP). */
  maxBytes?: number;
  maxArgs?: number;
  maxEnv?: number;
}

/** What a start (or `<job>` MSG) may carry: a new job or a reference to an existing one. */
export type JobRequest = { kind: 'job'; spec: JobSpec } | { kind: 'attach'; id: number };

export type SignalName = 'INT' | 'TERM' | 'KILL' | 'HUP';
export const SIGNAL_NAMES: readonly SignalName[] = ['INT', 'TERM', 'KILL', 'HUP'];

/** Messages the peer sends on a job channel. */
export type PeerMessage = { kind: 'run' } | { kind: 'status' } | { kind: 'job'; request: JobRequest };

const MAX_NAME = 256;
const CONTROL = /[\u0000-\u001f\u007f]/;
const DECIMAL = /^(0|[1-9][0-9]{0,9})$/;

function parseDecimal(value: string, what: string, max = 2147483647): number {
  if (!DECIMAL.test(value)) throw new GatewayXmlError(`${what} must be a decimal number, got '${value}'`);
  const n = Number(value);
  if (n > max) throw new GatewayXmlError(`${what} ${value} is out of range`);
  return n;
}

function parseBool(value: string | undefined, what: string): boolean {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw new GatewayXmlError(`${what} must be 'true' or 'false', got '${value}'`);
}

function checkName(value: string, what: string): void {
  if (value.length === 0 || value.length > MAX_NAME) throw new GatewayXmlError(`${what} must have 1 to ${MAX_NAME} characters`);
  if (CONTROL.test(value)) throw new GatewayXmlError(`${what} contains a control character`);
}

function decodeValue(e: XmlElement): Buffer {
  const text = textOf(e);
  const encoding = e.attrs['encoding'] ?? 'none';
  if (encoding === 'none') return Buffer.from(text, 'utf8');
  if (encoding !== 'base64') throw new GatewayXmlError(`encoding must be 'none' or 'base64', got '${encoding}'`);
  const compact = text.replace(/[\s]/g, '');
  if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(compact)) {
    throw new GatewayXmlError(`<${e.name}> is not valid base64`);
  }
  return Buffer.from(compact, 'base64');
}

function onlyElements(e: XmlElement): XmlElement[] {
  if (e.text.trim() !== '') throw new GatewayXmlError(`<${e.name}> must not contain text`);
  return e.children;
}

function parseJobElement(root: XmlElement, limits: JobXmlLimits): JobSpec {
  checkAttributes(root, ['name', 'detach', 'input', 'start']);
  const name = root.attrs['name'];
  if (name === undefined) throw new GatewayXmlError('<job> needs a name attribute');
  checkName(name, 'job name');
  const input = root.attrs['input'] ?? 'stream';
  if (input !== 'stream' && input !== 'none') throw new GatewayXmlError(`input must be 'stream' or 'none', got '${input}'`);
  const start = root.attrs['start'] ?? 'run';
  if (start !== 'run' && start !== 'create') throw new GatewayXmlError(`start must be 'run' or 'create', got '${start}'`);
  const maxArgs = limits.maxArgs ?? 4096;
  const maxEnv = limits.maxEnv ?? 1024;
  const args: Buffer[] = [];
  const env: Array<[string, Buffer]> = [];
  const envNames = new Set<string>();
  for (const c of onlyElements(root)) {
    if (c.name === 'arg') {
      if (env.length > 0) throw new GatewayXmlError('<arg> elements must precede <env> elements');
      checkAttributes(c, ['encoding']);
      if (args.length >= maxArgs) throw new GatewayXmlError(`more than ${maxArgs} <arg> elements`);
      args.push(decodeValue(c));
    } else if (c.name === 'env') {
      checkAttributes(c, ['name', 'encoding']);
      const k = c.attrs['name'];
      if (k === undefined) throw new GatewayXmlError('<env> needs a name attribute');
      checkName(k, 'environment variable name');
      if (k.includes('=')) throw new GatewayXmlError(`environment variable name '${k}' contains '='`);
      if (envNames.has(k)) throw new GatewayXmlError(`environment variable ${k} given twice`);
      if (env.length >= maxEnv) throw new GatewayXmlError(`more than ${maxEnv} <env> elements`);
      envNames.add(k);
      env.push([k, decodeValue(c)]);
    } else {
      throw new GatewayXmlError(`unknown element <${c.name}> in <job>`);
    }
  }
  if (args.length === 0) args.push(Buffer.from(name, 'utf8'));
  return {
    name,
    args,
    env,
    detach: parseBool(root.attrs['detach'], 'detach'),
    input: input === 'stream',
    ...(start === 'create' ? { early: true } : {}),
  };
}

function parseAttach(root: XmlElement): number {
  checkAttributes(root, ['id']);
  if (onlyElements(root).length > 0) throw new GatewayXmlError('<attach> must be empty');
  const id = root.attrs['id'];
  if (id === undefined) throw new GatewayXmlError('<attach> needs an id attribute');
  return parseDecimal(id, 'job id', Number.MAX_SAFE_INTEGER);
}

function requestFrom(root: XmlElement, limits: JobXmlLimits): JobRequest {
  if (root.name === 'job') return { kind: 'job', spec: parseJobElement(root, limits) };
  if (root.name === 'attach') return { kind: 'attach', id: parseAttach(root) };
  throw new GatewayXmlError(`expected <job> or <attach>, found <${root.name}>`);
}

/** Parses start content (or a `<job>` MSG body): `<job ...>` or `<attach id='N'/>`. */
export function parseJobRequest(content: string | Buffer, limits: JobXmlLimits = {}): JobRequest {
  return requestFrom(parseXml(content, { maxBytes: limits.maxBytes ?? 65536 }), limits);
}

function valueElement(name: string, attrs: Record<string, string>, value: Buffer): XmlElement {
  const text = value.toString('utf8');
  // Text that is not valid UTF-8 or holds characters XML cannot carry travels as base64.
  const plain = Buffer.from(text, 'utf8').equals(value) && !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.test(text);
  if (plain) return el(name, attrs, [], text);
  return el(name, { ...attrs, encoding: 'base64' }, [], value.toString('base64'));
}

/** Serializes a job spec; argv equal to `[name]` is still written out, so the element is explicit. */
export function buildJob(spec: JobSpec): string {
  const children: XmlElement[] = [];
  for (const a of spec.args) children.push(valueElement('arg', {}, a));
  for (const [k, v] of spec.env) children.push(valueElement('env', { name: k }, v));
  return buildXml(
    el('job', {
      name: spec.name,
      detach: spec.detach ? 'true' : undefined,
      input: spec.input ? undefined : 'none',
      start: spec.early ? 'create' : undefined,
    }, children),
  );
}

export function buildAttach(id: number): string {
  return buildXml(el('attach', { id: String(id) }));
}

/** The positive start reply's piggyback and the RPY to a `<job>` MSG. */
export function buildJobId(id: number): string {
  return buildXml(el('job', { id: String(id) }));
}

export function parseJobId(content: string | Buffer): number {
  const root = parseXml(content, { maxBytes: 1024 });
  if (root.name !== 'job') throw new GatewayXmlError(`expected <job id='N'/>, found <${root.name}>`);
  checkAttributes(root, ['id']);
  if (onlyElements(root).length > 0) throw new GatewayXmlError("<job id='N'/> must be empty");
  const id = root.attrs['id'];
  if (id === undefined) throw new GatewayXmlError('<job> reply needs an id attribute');
  return parseDecimal(id, 'job id', Number.MAX_SAFE_INTEGER);
}

function emptyElement(root: XmlElement, name: string): void {
  if (root.name !== name) throw new GatewayXmlError(`expected <${name}/>, found <${root.name}>`);
  checkAttributes(root, []);
  if (onlyElements(root).length > 0) throw new GatewayXmlError(`<${name}/> must be empty`);
}

/** A MSG from the peer on a job channel: `<run/>`, `<status/>`, `<job>` or `<attach>`. */
export function parsePeerMessage(body: string | Buffer, limits: JobXmlLimits = {}): PeerMessage {
  const root = parseXml(body, { maxBytes: limits.maxBytes ?? 65536 });
  switch (root.name) {
    case 'run':
      emptyElement(root, 'run');
      return { kind: 'run' };
    case 'status':
      emptyElement(root, 'status');
      return { kind: 'status' };
    case 'job':
    case 'attach':
      return { kind: 'job', request: requestFrom(root, limits) };
    default:
      throw new GatewayXmlError(`unknown element <${root.name}> on a job channel`);
  }
}

export const RUN_XML = '<run/>';
export const INPUT_XML = '<input/>';
export const STATUS_XML = '<status/>';

/** The gateway's own MSG asking for input. */
export function parseInputRequest(body: string | Buffer): void {
  emptyElement(parseXml(body, { maxBytes: 1024 }), 'input');
}

export function buildExit(status: number): string {
  if (!Number.isInteger(status) || status < 0 || status > 2147483647) throw new GatewayUsageError(`exit status ${status} out of range`);
  return buildXml(el('exit', { status: String(status) }));
}

export function buildError(code: number, text = ''): string {
  if (!Number.isInteger(code) || code < 100 || code > 599) throw new GatewayUsageError(`reply code ${code} out of range`);
  return buildXml(el('error', { code: String(code) }, [], text));
}

export interface ErrorElement {
  code: number;
  text: string;
  lang?: string;
}

export type FinalAnswer = { kind: 'exit'; status: number } | ({ kind: 'error' } & ErrorElement);

/** A control ANS of a run reply: the first one (`<started>`) or the final one. */
export type ControlAnswer = { kind: 'started'; id: number } | FinalAnswer;

function parseErrorElement(root: XmlElement): ErrorElement {
  checkAttributes(root, ['code', 'xml:lang']);
  const code = root.attrs['code'];
  if (code === undefined || !/^[1-5][0-9][0-9]$/.test(code)) throw new GatewayXmlError('<error> needs a code attribute of three digits');
  const out: ErrorElement = { code: Number(code), text: textOf(root) };
  const lang = root.attrs['xml:lang'];
  if (lang !== undefined) out.lang = lang;
  return out;
}

/** `<error code='C'>text</error>` as found in ERR replies and refused starts. */
export function parseError(body: string | Buffer): ErrorElement {
  const root = parseXml(body, { maxBytes: 65536 });
  if (root.name !== 'error') throw new GatewayXmlError(`expected <error>, found <${root.name}>`);
  return parseErrorElement(root);
}

/** The final ANS of a run reply: `<exit status='N'/>` or `<error code='C'>text</error>`. */
export function parseFinalAnswer(body: string | Buffer): FinalAnswer {
  const root = parseXml(body, { maxBytes: 65536 });
  if (root.name === 'exit') {
    checkAttributes(root, ['status']);
    if (onlyElements(root).length > 0) throw new GatewayXmlError('<exit> must be empty');
    const s = root.attrs['status'];
    if (s === undefined) throw new GatewayXmlError('<exit> needs a status attribute');
    return { kind: 'exit', status: parseDecimal(s, 'exit status') };
  }
  if (root.name === 'error') return { kind: 'error', ...parseErrorElement(root) };
  throw new GatewayXmlError(`expected <exit> or <error>, found <${root.name}>`);
}

/** The first ANS of a run reply: the job is running (lets the peer close the channel of a silent job). */
export function buildStarted(id: number): string {
  return buildXml(el('started', { id: String(id) }));
}

/** Any control ANS of a run reply: `<started id='N'/>`, `<exit status='N'/>` or `<error>`. */
export function parseControlAnswer(body: string | Buffer): ControlAnswer {
  const root = parseXml(body, { maxBytes: 65536 });
  if (root.name === 'started') {
    checkAttributes(root, ['id']);
    if (onlyElements(root).length > 0) throw new GatewayXmlError('<started> must be empty');
    return { kind: 'started', id: parseDecimal(root.attrs['id'] ?? '', 'job id', Number.MAX_SAFE_INTEGER) };
  }
  return parseFinalAnswer(body);
}

export function buildSignal(name: SignalName): string {
  return buildXml(el('signal', { name }));
}

export function parseSignal(body: string | Buffer): SignalName {
  const root = parseXml(body, { maxBytes: 1024 });
  if (root.name !== 'signal') throw new GatewayXmlError(`expected <signal>, found <${root.name}>`);
  checkAttributes(root, ['name']);
  const name = root.attrs['name'];
  if (!SIGNAL_NAMES.includes(name as SignalName)) throw new GatewayXmlError(`unknown signal '${name ?? ''}'`);
  return name as SignalName;
}

export type JobState = 'created' | 'running' | 'exited';

export interface JobStatus {
  id: number;
  state: JobState;
  exit?: number;
}

export function buildStatus(s: JobStatus): string {
  return buildXml(el('status', { id: String(s.id), state: s.state, exit: s.exit === undefined ? undefined : String(s.exit) }));
}

export function parseStatus(body: string | Buffer): JobStatus {
  const root = parseXml(body, { maxBytes: 1024 });
  if (root.name !== 'status') throw new GatewayXmlError(`expected <status>, found <${root.name}>`);
  checkAttributes(root, ['id', 'state', 'exit']);
  const id = parseDecimal(root.attrs['id'] ?? '', 'job id', Number.MAX_SAFE_INTEGER);
  const state = root.attrs['state'];
  if (state !== 'created' && state !== 'running' && state !== 'exited') throw new GatewayXmlError(`unknown job state '${state ?? ''}'`);
  const out: JobStatus = { id, state };
  const exit = root.attrs['exit'];
  if (exit !== undefined) out.exit = parseDecimal(exit, 'exit status');
  return out;
}
