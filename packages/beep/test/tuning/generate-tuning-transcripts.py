#!/usr/bin/env python3
# Generates test-vectors/beep/sessions-tuning.json: checklist J (TLS profile) and K (SASL profiles) plus the
# listener security policy. Run from anywhere: python3 generate-tuning-transcripts.py
import json, re, base64, os, sys
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'session'))
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..', 'test-vectors', 'beep', 'sessions-tuning.json')
E = re.escape
XML = 'Content-Type: application/beep+xml\r\n\r\n'
XML_RE = r"Content-Type: application/beep\+xml\r\n\r\n"
from vector_format import ECHO, ANS, HOLD, finalize
TLS = 'http://iana.org/beep/TLS'
def SASL(m): return 'http://iana.org/beep/SASL/' + m
APP = [ECHO, ANS, HOLD]

class Peer:
    def __init__(self): self.seq = {}
    def f(self, kw, ch, msgno, payload):
        s = self.seq.get(ch, 0); n = len(payload.encode('latin1'))
        self.seq[ch] = s + n
        return f"{kw} {ch} {msgno} . {s} {n}\r\n{payload}END\r\n"

# Other application profiles (urn:...) a live listener offers may appear between the expected ones; the TLS and
# SASL profiles offered stay exactly these.
OTHER_APP = r"(?:<profile uri='urn:[^']*'\s*/>)*"
def greet_re(uris):
    inner = ''.join(OTHER_APP + r"<profile uri='" + E(u) + r"'\s*/>" for u in uris) + OTHER_APP
    body = r"<greeting\s*/>" if not uris else r"<greeting>" + inner + r"</greeting>"
    return r"RPY 0 0 \. 0 \d+\r\n" + XML_RE + body + r"\s*END\r\n"
def start_xml(num, uri, content=None):
    if content is None: return XML + f"<start number='{num}'><profile uri='{uri}'/></start>"
    return XML + f"<start number='{num}'><profile uri='{uri}'><![CDATA[{content}]]></profile></start>"
# XML may be followed by white space (XML 1.0 Misc); Vortex ends its channel-0 XML with CRLF.
XML_TAIL = lambda b: b + r"\s*" if b.startswith(r"Content-Type: application/beep\+xml") else b
def reply_re(kw, ch, msgno, body_re): return rf"{kw} {ch} {msgno} \. \d+ \d+\r\n{XML_TAIL(body_re)}END\r\n"
def profile_re(m, uri, content_re=None):
    if content_re is None: return reply_re('RPY', 0, m, XML_RE + r"<profile uri='" + E(uri) + r"'\s*/>")
    return reply_re('RPY', 0, m, XML_RE + r"<profile uri='" + E(uri) + r"'>" + content_re + r"</profile>")
def err_re(ch, m, code): return reply_re('ERR', ch, m, XML_RE + r"<error code='" + str(code) + r"'[^>]*?(?:/>|>[^<]*</error>)")
# Profile content may come escaped or as CDATA: match either spelling of `<name ...>`.
def esc_el(name, rest=r"[\s\S]*?"): return r"(?:<!\[CDATA\[)?(?:<|&lt;)" + name + rest + r"(?:>|&gt;)(?:\]\]>)?"
def blob(data=None, status=None):
    st = f" status='{status}'" if status else ''
    return f"<blob{st}>{base64.b64encode(data).decode()}</blob>" if data else f"<blob{st}/>"
PLAIN_OK = b'\0bob\0secret'; PLAIN_BAD = b'\0bob\0wrong'

SASL_USERS = {'sasl': {'users': ['bob:secret']}}
def T(name, rules, steps, options):
    vid = re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')
    return finalize({'id': vid, 'rule': rules[0], 'rules': rules, 'description': name, 'role': 'listener', 'options': {'security': options}, 'steps': steps})

def opened(p, uris):
    return [{'expect_match': greet_re(uris)}, {'send': p.f('RPY', 0, 0, XML + '<greeting />')}]

v = []
# ---------------------------------------------------------------- K: SASL
p = Peer()
v.append(T('sasl greeting in the clear lists SCRAM-SHA-256 and CRAM-MD5 but not PLAIN', ['K.51', 'I.47'],
    opened(p, [SASL('SCRAM-SHA-256'), SASL('CRAM-MD5')] + APP) + [
    {'send': p.f('MSG', 0, 1, start_xml(1, SASL('PLAIN'), blob(PLAIN_OK)))}, {'expect_match': err_re(0, 1, 538)},
    {'send': p.f('MSG', 0, 2, start_xml(1, ECHO))}, {'expect_match': profile_re(2, ECHO)}], SASL_USERS))

OPEN_PLAIN = [SASL('SCRAM-SHA-256'), SASL('CRAM-MD5'), SASL('PLAIN')] + APP
CLEAR = {'sasl': {'users': ['bob:secret'], 'allowCleartext': True}}
p = Peer()
v.append(T('sasl PLAIN with a piggybacked initial response completes in the start reply', ['K.51', 'K.52'],
    opened(p, OPEN_PLAIN) + [
    {'send': p.f('MSG', 0, 1, start_xml(1, SASL('PLAIN'), blob(PLAIN_OK)))},
    {'expect_match': profile_re(1, SASL('PLAIN'), esc_el('blob', r"\s+status=(?:'|&apos;|\")complete(?:'|&apos;|\")\s*/"))},
    {'send': p.f('MSG', 0, 2, start_xml(3, ECHO))}, {'expect_match': profile_re(2, ECHO)}], CLEAR))

p = Peer()
v.append(T('sasl wrong password in the first round: the start succeeds carrying error 535', ['K.52', 'I.47'],
    opened(p, OPEN_PLAIN) + [
    {'send': p.f('MSG', 0, 1, start_xml(1, SASL('PLAIN'), blob(PLAIN_BAD)))},
    {'expect_match': profile_re(1, SASL('PLAIN'), esc_el('error', r"\s+code=(?:'|&apos;|\")535(?:'|&apos;|\")[\s\S]*?") + r"[\s\S]*?")}], CLEAR))

p = Peer()
v.append(T('sasl wrong password in a later round is ERR 535; a retry on the channel succeeds', ['K.52', 'I.47'],
    opened(p, OPEN_PLAIN) + [
    {'send': p.f('MSG', 0, 1, start_xml(1, SASL('PLAIN')))}, {'expect_match': profile_re(1, SASL('PLAIN'))},
    {'send': p.f('MSG', 1, 0, XML + blob(PLAIN_BAD))}, {'expect_match': err_re(1, 0, 535)},
    {'send': p.f('MSG', 1, 1, XML + blob(PLAIN_OK))},
    {'expect_match': reply_re('RPY', 1, 1, XML_RE + r"<blob status='complete'\s*/>")}], CLEAR))

p = Peer()
v.append(T('sasl client abort is answered with ERR 451 and the exchange starts over', ['K.52'],
    opened(p, OPEN_PLAIN) + [
    {'send': p.f('MSG', 0, 1, start_xml(1, SASL('PLAIN')))}, {'expect_match': profile_re(1, SASL('PLAIN'))},
    {'send': p.f('MSG', 1, 0, XML + blob(status='abort'))}, {'expect_match': err_re(1, 0, 451)},
    {'send': p.f('MSG', 1, 1, XML + blob(PLAIN_OK))},
    {'expect_match': reply_re('RPY', 1, 1, XML_RE + r"<blob status='complete'\s*/>")}], CLEAR))

p = Peer()
ANON = {'sasl': {'users': [], 'allowAnonymous': True}}
v.append(T('sasl authentication happens once per session: a second exchange is refused with 554', ['K.53'],
    opened(p, [SASL('ANONYMOUS')] + APP) + [
    {'send': p.f('MSG', 0, 1, start_xml(1, SASL('ANONYMOUS'), blob(b'trace')))},
    {'expect_match': profile_re(1, SASL('ANONYMOUS'), esc_el('blob', r"\s+status=(?:'|&apos;|\")complete(?:'|&apos;|\")\s*/"))},
    {'send': p.f('MSG', 0, 2, start_xml(3, SASL('ANONYMOUS'), blob(b'again')))}, {'expect_match': err_re(0, 2, 554)}], ANON))

p = Peer()
v.append(T('sasl blob with bad base64 gets 501', ['K.51', 'I.47'],
    opened(p, OPEN_PLAIN) + [
    {'send': p.f('MSG', 0, 1, start_xml(1, SASL('PLAIN')))}, {'expect_match': profile_re(1, SASL('PLAIN'))},
    {'send': p.f('MSG', 1, 0, XML + '<blob>not*base64</blob>')}, {'expect_match': err_re(1, 0, 501)}], CLEAR))

# ---------------------------------------------------------------- policy
p = Peer()
v.append(T('require sasl: application starts get 530 until the session is authenticated', ['K.53', 'I.47'],
    opened(p, [SASL('ANONYMOUS')] + APP) + [
    {'send': p.f('MSG', 0, 1, start_xml(1, ECHO))}, {'expect_match': err_re(0, 1, 530)},
    {'send': p.f('MSG', 0, 2, start_xml(3, SASL('ANONYMOUS'), blob(b'me')))},
    {'expect_match': profile_re(2, SASL('ANONYMOUS'), r"[\s\S]*?complete[\s\S]*?")},
    {'send': p.f('MSG', 0, 3, start_xml(5, ECHO))}, {'expect_match': profile_re(3, ECHO)}],
    {'sasl': {'users': [], 'allowAnonymous': True}, 'require': {'sasl': True}}))

REQ_TLS = {'tls': {'selfSigned': True}, 'sasl': {'users': ['bob:secret']}, 'require': {'tls': True}}
p = Peer()
v.append(T('require tls: the first greeting offers TLS and the SASL mechanisms allowed in the clear; others get 554', ['J.48', 'I.47'],
    opened(p, [TLS, SASL('SCRAM-SHA-256'), SASL('CRAM-MD5')]) + [
    {'send': p.f('MSG', 0, 1, start_xml(1, ECHO))}, {'expect_match': err_re(0, 1, 554)},
    {'send': p.f('MSG', 0, 2, start_xml(3, SASL('PLAIN'), blob(PLAIN_OK)))}, {'expect_match': err_re(0, 2, 538)}], REQ_TLS))

# ---------------------------------------------------------------- J: TLS
TLS_ONLY = {'tls': {'selfSigned': True}}
p = Peer()
v.append(T('tls piggybacked ready gets proceed, then the listener sends nothing more', ['J.48', 'J.49', 'J.50'],
    opened(p, [TLS] + APP) + [
    {'send': p.f('MSG', 0, 1, start_xml(1, TLS, '<ready />'))},
    {'expect_match': profile_re(1, TLS, esc_el('proceed', r"\s*/"))},
    {'send': p.f('MSG', 0, 2, start_xml(3, ECHO))}, {'expect_nothing': True}], TLS_ONLY))

p = Peer()
v.append(T('tls ready as the first MSG on the channel gets RPY proceed', ['J.48', 'J.49'],
    opened(p, [TLS] + APP) + [
    {'send': p.f('MSG', 0, 1, start_xml(1, TLS))}, {'expect_match': profile_re(1, TLS)},
    {'send': p.f('MSG', 1, 0, XML + '<ready />')},
    {'expect_match': reply_re('RPY', 1, 0, XML_RE + r"<proceed\s*/>")}, {'expect_nothing': True}], TLS_ONLY))

p = Peer()
v.append(T('tls ready with an unknown version gets error 501 in place of proceed', ['J.48'],
    opened(p, [TLS] + APP) + [
    {'send': p.f('MSG', 0, 1, start_xml(1, TLS, "<ready version='2' />"))},
    {'expect_match': profile_re(1, TLS, esc_el('error', r"\s+code=(?:'|&apos;|\")501(?:'|&apos;|\")[\s\S]*?") + r"[\s\S]*?")},
    {'send': p.f('MSG', 0, 2, start_xml(3, ECHO))}, {'expect_match': profile_re(2, ECHO)}], TLS_ONLY))

p = Peer()
v.append(T('tls is not offered without a certificate: its start is refused with 550', ['J.48', 'H.42'],
    opened(p, [SASL('SCRAM-SHA-256'), SASL('CRAM-MD5')] + APP) + [
    {'send': p.f('MSG', 0, 1, start_xml(1, TLS, '<ready />'))}, {'expect_match': err_re(0, 1, 550)},
    {'send': p.f('MSG', 0, 2, start_xml(3, ECHO))}, {'expect_match': profile_re(2, ECHO)}], SASL_USERS))

# ---------------------------------------------------------------- both spellings of profile content
# Receivers accept content entity-escaped or as CDATA; replies go as CDATA (peers such as Vortex 1.1 compare the raw
# text and refuse the escaped form; docs/interop.md).
def start_escaped(num, uri, content):
    esc = content.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;').replace("'", '&apos;')
    return XML + f"<start number='{num}'><profile uri='{uri}'>{esc}</profile></start>"
def cdata_re(el_re): return r"<!\[CDATA\[" + el_re + r"\]\]>"
p = Peer()
v.append(T('tls ready sent entity-escaped is accepted, and proceed goes back as CDATA', ['J.48', 'H.43'],
    opened(p, [TLS] + APP) + [
    {'send': p.f('MSG', 0, 1, start_escaped(1, TLS, '<ready />'))},
    {'expect_match': profile_re(1, TLS, cdata_re(r"<proceed\s*/>"))},
    {'expect_nothing': True}], TLS_ONLY))
p = Peer()
v.append(T('sasl PLAIN blob sent entity-escaped is accepted, and the complete blob goes back as CDATA', ['K.51', 'H.43'],
    opened(p, OPEN_PLAIN) + [
    {'send': p.f('MSG', 0, 1, start_escaped(1, SASL('PLAIN'), blob(PLAIN_OK)))},
    {'expect_match': profile_re(1, SASL('PLAIN'), cdata_re(r"<blob status='complete'\s*/>"))}], CLEAR))
p = Peer()
v.append(T('sasl CRAM-MD5 (server-first) start without content gets the challenge in the start reply, as CDATA', ['K.51', 'K.52'],
    opened(p, [SASL('SCRAM-SHA-256'), SASL('CRAM-MD5')] + APP) + [
    {'send': p.f('MSG', 0, 1, start_xml(1, SASL('CRAM-MD5')))},
    {'expect_match': profile_re(1, SASL('CRAM-MD5'), cdata_re(r"<blob>[A-Za-z0-9+/]+=*</blob>"))}], SASL_USERS))

ids = [t['id'] for t in v]
assert len(ids) == len(set(ids)), ids
doc = {'kind': 'beep-session', 'version': 1,
       'description': 'BEEP tuning transcripts (TLS, SASL, listener policy); format in test-vectors/README.md (Session transcripts, Tuning).'}
with open(OUT, 'w') as fh:
    fh.write(json.dumps(doc, ensure_ascii=True)[:-1] + ', "vectors": [\n')
    fh.write(',\n'.join(json.dumps(t, ensure_ascii=True) for t in v))
    fh.write('\n]}\n')
print(len(v), 'vectors')
