#!/usr/bin/env python3
"""Example runner for the language-neutral BEEP vectors, in Python with the standard library only.

Checks test-vectors/beep/frames*.json with its own frame parser (every vector fed whole and one octet at a
time: same frames, same error code) and test-vectors/beep/xml*.json with its own channel-0 / safe XML reader
built on expat (accept or refuse with the same reply code, 500 or 501, and the same decoded message or tree).
It shares no code with beamgate: it is written from test-vectors/README.md alone.

    python3 test-vectors/examples/run_vectors.py [VECTORS_DIR]      # exit 0 when every vector agrees
"""
import base64
import glob
import json
import os
import re
import sys
import xml.parsers.expat

MAX31, MAX32 = 2147483647, 4294967295


class FrameError(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


# ------------------------------------------------------------------------------------------------ frames
class FrameParser:
    """Sans-IO frame parser with the order of checks of test-vectors/README.md (Frames)."""

    KEYWORDS = ('MSG', 'RPY', 'ERR', 'ANS', 'NUL', 'SEQ')

    def __init__(self, max_header=100, max_frame=1048576, strict=False):
        self.max_header, self.max_frame, self.strict = max_header, max_frame, strict
        self.buf = b''
        self.frames = []
        self.pending = None  # header of a data frame whose payload is being read

    def push(self, chunk):
        self.buf += chunk
        while True:
            if self.pending is None:
                nl = self.buf.find(b'\n')
                if nl < 0:
                    if len(self.buf) >= self.max_header:
                        raise FrameError('BEEP_HEADER_TOO_LONG')
                    return
                if nl + 1 > self.max_header:
                    raise FrameError('BEEP_HEADER_TOO_LONG')
                line, self.buf = self.buf[:nl + 1], self.buf[nl + 1:]
                frame = self.header(line)
                if frame['type'] == 'SEQ':
                    self.frames.append(frame)
                    continue
                self.pending = frame
            f = self.pending
            need = f['size'] + 5
            if len(self.buf) < need:
                # the trailer is checked octet by octet as it arrives
                got = self.buf[f['size']:]
                if got and not b'END\r\n'.startswith(got):
                    raise FrameError('BEEP_BAD_TRAILER')
                return
            payload, trailer, self.buf = self.buf[:f['size']], self.buf[f['size']:need], self.buf[need:]
            if trailer != b'END\r\n':
                raise FrameError('BEEP_BAD_TRAILER')
            if f['type'] == 'NUL' and f['size'] == 2 and payload != b'\r\n':
                raise FrameError('BEEP_NUL_PAYLOAD')
            del f['size']
            f['payload'] = payload
            self.frames.append(f)
            self.pending = None

    def number(self, text, maximum):
        if not re.fullmatch(rb'[0-9]+', text):
            raise FrameError('BEEP_HEADER_SYNTAX')
        if len(text) > 10 or int(text) > maximum:
            raise FrameError('BEEP_NUMBER_RANGE')
        return int(text)

    def header(self, line):
        if not line.endswith(b'\r\n'):
            raise FrameError('BEEP_HEADER_SYNTAX')
        body = line[:-2]
        if not body:
            raise FrameError('BEEP_HEADER_SYNTAX')
        kw = body[:3].decode('latin1')
        if kw not in self.KEYWORDS:
            raise FrameError('BEEP_BAD_KEYWORD')
        if body[3:4] != b' ':
            raise FrameError('BEEP_HEADER_SYNTAX' if len(body) > 3 else 'BEEP_PARAM_COUNT')
        params = body[4:].split(b' ')
        want = {'SEQ': 3, 'ANS': 6}.get(kw, 5)
        names = ['channel', 'ackno', 'window'] if kw == 'SEQ' else ['channel', 'msgno', 'more', 'seqno', 'size', 'ansno']
        values = {}
        for i, p in enumerate(params):
            if i >= want:
                # a space after the last parameter: a doubled or trailing space, or one parameter too many
                raise FrameError('BEEP_HEADER_SYNTAX' if p == b'' else 'BEEP_PARAM_COUNT')
            name = names[i]
            if name == 'more':
                if p not in (b'.', b'*'):
                    raise FrameError('BEEP_BAD_MORE')
                values['more'] = p == b'*'
            else:
                values[name] = self.number(p, MAX32 if name in ('seqno', 'ackno', 'ansno') else MAX31)
        if len(params) < want:
            raise FrameError('BEEP_PARAM_COUNT')
        if kw == 'SEQ':
            return {'type': 'SEQ', 'channel': values['channel'], 'ackno': values['ackno'], 'window': values['window']}
        frame = {'type': kw, 'channel': values['channel'], 'msgno': values['msgno'], 'more': values['more'],
                 'seqno': values['seqno'], 'size': values['size']}
        if kw == 'ANS':
            frame['ansno'] = values['ansno']
        if kw == 'NUL':
            if frame['more']:
                raise FrameError('BEEP_NUL_MORE')
            if frame['size'] != 0 and (frame['size'] != 2 or self.strict):
                raise FrameError('BEEP_NUL_PAYLOAD')
        if frame['size'] > self.max_frame:
            raise FrameError('BEEP_FRAME_TOO_LARGE')
        return frame


def decode_frames(data, options, chunks):
    p = FrameParser(options.get('maxHeaderLength', 100), options.get('maxFrameSize', 1048576), options.get('strict', False))
    error = None
    try:
        for c in chunks(data):
            p.push(c)
        if p.pending is not None or p.buf:
            error = 'BEEP_TRUNCATED'
    except FrameError as e:
        error = e.code
    return p.frames, error


def expected_frames(v):
    out = []
    for f in v['expect']['frames']:
        g = dict(f)
        if 'payload' in g:
            g['payload'] = g['payload'].encode('latin1')
        elif 'payload_b64' in g:
            g['payload'] = base64.b64decode(g.pop('payload_b64'))
        out.append(g)
    return out


def check_frames(v):
    data = v['input'].encode('latin1') if 'input' in v else base64.b64decode(v['input_b64'])
    options = v.get('options', {})
    want = (expected_frames(v), v['expect'].get('error'))
    whole = decode_frames(data, options, lambda d: [d])
    octets = decode_frames(data, options, lambda d: [d[i:i + 1] for i in range(len(d))])
    problems = []
    for name, got in (('whole', whole), ('octet by octet', octets)):
        if got != want:
            problems.append(f'{name}: got {got[1] or "frames"} {len(got[0])} frames, want {want[1] or "frames"} {len(want[0])} frames')
    return problems


# ------------------------------------------------------------------------------------------------ XML
class XmlRefused(Exception):
    def __init__(self, code, reply):
        super().__init__(code)
        self.code, self.reply = code, reply


def syntax(code='BEEP_XML_SYNTAX'):
    return XmlRefused(code, 500)


def invalid(code='BEEP_XML_INVALID'):
    return XmlRefused(code, 501)


PREDEFINED = {'lt', 'gt', 'amp', 'quot', 'apos'}


def read_tree(data, max_bytes, max_depth):
    """Element tree {name, attrs, children, text} of a guarded XML document, or XmlRefused (500)."""
    if len(data) > max_bytes:
        raise syntax('BEEP_XML_TOO_LARGE')
    try:
        text = data.decode('utf-8')
    except UnicodeDecodeError:
        raise syntax('BEEP_XML_ENCODING')
    if text.startswith('\ufeff'):
        text = text[1:]
    # CDATA sections and comments are literal text: look for declarations and references outside them only
    outside = re.sub(r'<!\[CDATA\[.*?\]\]>|<!--.*?-->', '', text, flags=re.S)
    if re.search(r'<\?', outside) or re.search(r'<!', outside):
        raise syntax('BEEP_XML_FORBIDDEN')
    for m in re.finditer(r'&([^;&<\s]*)(;?)', outside):
        ref, semi = m.group(1), m.group(2)
        if not semi:
            raise syntax('BEEP_XML_ENTITY')
        if ref.startswith('#'):
            try:
                cp = int(ref[2:], 16) if ref[1:2] in ('x',) else int(ref[1:])
            except ValueError:
                raise syntax('BEEP_XML_ENTITY')
            if not (cp in (9, 10, 13) or 0x20 <= cp <= 0xD7FF or 0xE000 <= cp <= 0xFFFD or 0x10000 <= cp <= 0x10FFFF):
                raise syntax('BEEP_XML_ENTITY')
        elif ref not in PREDEFINED:
            raise syntax('BEEP_XML_ENTITY')
    stack, roots = [], []
    parser = xml.parsers.expat.ParserCreate('UTF-8')
    parser.buffer_text = True

    def start(name, attrs):
        if name in ('__proto__', 'constructor', 'prototype') or any(a in ('__proto__', 'constructor', 'prototype') for a in attrs):
            raise syntax('BEEP_XML_FORBIDDEN')
        el = {'name': name, 'attrs': dict(attrs), 'children': [], 'text': ''}
        if stack:
            stack[-1]['children'].append(el)
        else:
            roots.append(el)
        stack.append(el)
        if len(stack) > max_depth:
            raise syntax('BEEP_XML_TOO_DEEP')

    def end(name):
        stack.pop()

    def chars(data):
        if stack:
            stack[-1]['text'] += data
        elif data.strip():
            raise syntax()

    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, chars
    try:
        parser.Parse(text.encode('utf-8'), True)
    except xml.parsers.expat.ExpatError as e:
        raise syntax('BEEP_XML_MULTIPLE_ROOTS' if 'junk after document element' in str(e) else 'BEEP_XML_SYNTAX')
    if len(roots) != 1:
        raise syntax('BEEP_XML_MULTIPLE_ROOTS' if roots else 'BEEP_XML_SYNTAX')
    return roots[0]


ELEMENTS = {'msg': ('start', 'close'), 'rpy': ('greeting', 'profile', 'ok'), 'err': ('error',)}
CODE = re.compile(r'[1-5][0-9][0-9]$')
NMTOKEN = re.compile(r'[\w.:-]+$')


def attrs_only(el, allowed, strict):
    if strict and set(el['attrs']) - set(allowed):
        raise invalid()


def empty(el):
    if el['children'] or el['text'].strip():
        raise invalid()


def number(s, lo=0, hi=MAX31):
    if s is None or not re.fullmatch(r'[0-9]+', s) or not lo <= int(s) <= hi:
        raise invalid()
    return int(s)


def profile_of(el, strict, max_content, in_greeting=False):
    if el['name'] != 'profile' or 'uri' not in el['attrs'] or el['children']:
        raise invalid()
    attrs_only(el, ('uri', 'encoding'), strict)
    enc = el['attrs'].get('encoding', 'none')
    if enc not in ('none', 'base64'):
        raise invalid()
    content = el['text'] if el['text'].strip() else ''
    if in_greeting:
        if content:
            raise invalid()
        return el['attrs']['uri']
    if content and enc == 'base64':
        if not re.fullmatch(r'[A-Za-z0-9+/\s]*={0,2}\s*', content):
            raise invalid()
    if len(content.encode('utf-8')) > max_content:
        raise invalid('BEEP_XML_CONTENT_TOO_LARGE')
    p = {'uri': el['attrs']['uri'], 'encoding': enc}
    if content:
        p['content'] = content
    return p


def channel0(el, options):
    strict = options.get('strict', False)
    max_content = options.get('maxContentBytes', 4096)
    name, a = el['name'], el['attrs']
    if name not in ('greeting', 'start', 'profile', 'close', 'ok', 'error'):
        raise invalid()
    exchange = options.get('expect')
    if exchange and name not in ELEMENTS[exchange]:
        raise invalid('BEEP_XML_UNEXPECTED')
    if name == 'greeting':
        attrs_only(el, ('features', 'localize'), strict)
        if el['text'].strip():
            raise invalid()
        features = a.get('features', '').split()
        localize = a.get('localize', 'i-default').split()
        if not all(NMTOKEN.match(t) for t in features + localize):
            raise invalid()
        return {'type': 'greeting', 'profiles': [profile_of(c, strict, max_content, True) for c in el['children']],
                'features': features, 'localize': localize}
    if name == 'start':
        attrs_only(el, ('number', 'serverName'), strict)
        if el['text'].strip() or not el['children']:
            raise invalid()
        m = {'type': 'start', 'number': number(a.get('number'), 1)}
        if 'serverName' in a:
            m['serverName'] = a['serverName']
        m['profiles'] = [profile_of(c, strict, max_content) for c in el['children']]
        return m
    if name == 'profile':
        p = profile_of(el, strict, max_content)
        return {'type': 'profile', **p}
    if name in ('close', 'error'):
        attrs_only(el, ('number', 'code', 'xml:lang') if name == 'close' else ('code', 'xml:lang'), strict)
        if el['children'] or not CODE.match(a.get('code', '')):
            raise invalid()
        m = {'type': name}
        if name == 'close':
            m['number'] = number(a.get('number', '0'))
        m['code'] = int(a['code'])
        if 'xml:lang' in a:
            m['lang'] = a['xml:lang']
        m['text'] = el['text'].strip()
        return m
    attrs_only(el, (), strict)
    if strict and (el['text'] or el['children']):
        raise invalid()
    empty(el)
    return {'type': 'ok'}


def check_xml(v):
    data = v['input'].encode('utf-8') if 'input' in v else base64.b64decode(v['input_b64'])
    o = v.get('options', {})
    want = v['expect']
    try:
        if v['parser'] == 'safe':
            tree = read_tree(data, o.get('maxBytes', 4096), o.get('maxDepth', 16))
            if o.get('allowedRoots') and tree['name'] not in o['allowedRoots']:
                raise invalid()
            got = {'tree': tree}
        else:
            got = {'message': channel0(read_tree(data, o.get('maxBytes', 65536), 8), o)}
    except XmlRefused as e:
        if 'error' not in want:
            return [f'refused ({e.code}, {e.reply}) but the vector accepts it']
        if want.get('replyCode') != e.reply:
            return [f'refused with {e.reply} ({e.code}), the vector says {want.get("replyCode")} ({want["error"]})']
        return []
    if 'error' in want:
        return [f'accepted, the vector refuses it with {want.get("replyCode")} ({want["error"]})']
    key = 'tree' if 'tree' in want else 'message'
    if got[key] != want[key]:
        return [f'decoded {json.dumps(got[key])[:200]}, want {json.dumps(want[key])[:200]}']
    return []


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
    failures, total = [], 0
    for path in sorted(glob.glob(os.path.join(root, 'beep', '*.json'))):
        doc = json.load(open(path, encoding='utf-8'))
        check = {'beep-frames': check_frames, 'beep-xml': check_xml}.get(doc['kind'])
        if check is None:
            continue
        for v in doc['vectors']:
            total += 1
            for problem in check(v):
                failures.append(f'{os.path.basename(path)} {v["id"]}: {problem}')
    for f in failures:
        print('FAIL', f)
    print(f'{total - len(set(f.split(":")[0] for f in failures))}/{total} frame and XML vectors agree')
    return 1 if failures or total == 0 else 0


if __name__ == '__main__':
    sys.exit(main())
