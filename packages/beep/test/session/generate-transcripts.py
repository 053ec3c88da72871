#!/usr/bin/env python3
# Generates test-vectors/beep/sessions-*.json (run from anywhere: python3 generate-transcripts.py).
import json, re, base64, os
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..', 'test-vectors', 'beep')
E = re.escape
XML = 'Content-Type: application/beep+xml\r\n\r\n'
from vector_format import ECHO, ANS, HOLD, finalize, ans_bodies
GREET_RE = r"RPY 0 0 \. 0 \d+\r\nContent-Type: application/beep\+xml\r\n\r\n<greeting[\s\S]*?END\r\n"
GREETING = XML + '<greeting />'

class Peer:
    def __init__(self, init=0, win=4096):
        self.seq = {}
        self.init = init
        self.adv = {}
        self.win = win
    def seq_due(self, ch):
        """The SEQ the implementation must send after the frames so far (half-window rule), or ''."""
        base = 0 if ch == 0 else self.init
        cur = self.seq.get(ch, base); a = self.adv.get(ch, base)
        win = 4096 if ch == 0 else self.win
        if (cur - a) % 2**32 >= win // 2:
            self.adv[ch] = cur
            return f'SEQ {ch} {cur} {win}\r\n'
        return ''
    def big(self, ch, msgno, payload, chunk=2048):
        """Steps sending a message in frames the receiver's window allows, expecting its SEQs."""
        steps = []
        parts = [payload[i:i + chunk] for i in range(0, len(payload), chunk)]
        for i, part in enumerate(parts):
            steps.append({'send': self.f('MSG', ch, msgno, part, more=i < len(parts) - 1)})
            sq = self.seq_due(ch)
            if sq and i < len(parts) - 1: steps.append({'expect': sq})
            elif sq: steps.append({'_pending_seq': sq})
        return steps
    def f(self, kw, ch, msgno, payload, more=False, ansno=None, seq=None, size=None):
        s = self.seq.get(ch, 0 if ch == 0 else self.init)
        if seq is None: seq = s
        n = len(payload.encode('latin1')) if size is None else size
        self.seq[ch] = (seq + n) % 2**32
        h = f"{kw} {ch} {msgno} {'*' if more else '.'} {seq} {n}" + (f" {ansno}" if ansno is not None else '') + '\r\n'
        return h + payload + 'END\r\n'

def start_xml(num, uri, content=None, enc=None, server=None):
    sv = f" serverName='{server}'" if server else ''
    if content is None:
        return XML + f"<start number='{num}'{sv}><profile uri='{uri}'/></start>"
    e = f" encoding='{enc}'" if enc else ''
    return XML + f"<start number='{num}'{sv}><profile uri='{uri}'{e}>{content}</profile></start>"

# XML may be followed by white space (XML 1.0 Misc); Vortex ends its channel-0 XML with CRLF.
XML_TAIL = lambda b: b + r"\s*" if b.startswith(r"Content-Type: application/beep\+xml") else b
def rpy_re(ch, msgno, body_re, kw='RPY', more=r'\.'):
    return rf"{kw} {ch} {msgno} {more} \d+ \d+\r\n{XML_TAIL(body_re)}END\r\n"
def profile_ok(ch0msgno, uri):
    return rpy_re(0, ch0msgno, r"Content-Type: application/beep\+xml\r\n\r\n<profile uri='" + E(uri) + r"'\s*/>")
def err_re(ch, msgno, code):
    return rpy_re(ch, msgno, r"Content-Type: application/beep\+xml\r\n\r\n<error code='" + str(code) + r"'[^>]*?(?:/>|>[^<]*</error>)", kw='ERR')
def ok_re(msgno):
    return rpy_re(0, msgno, r"Content-Type: application/beep\+xml\r\n\r\n<ok\s*/>")
def echo_re(ch, msgno, body):
    return rpy_re(ch, msgno, r"\r\n" + E(body))

def listener_open(p, chans=((1, ECHO),), greet=True):
    steps = [{'expect_match': GREET_RE}]
    if greet: steps.append({'send': p.f('RPY', 0, 0, GREETING)})
    m = 1
    for num, uri in chans:
        steps.append({'send': p.f('MSG', 0, m, start_xml(num, uri))})
        steps.append({'expect_match': profile_ok(m, uri)})
        m += 1
    return steps, m

def T(name, rules, role, steps, **options):
    vid = re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')
    t = {'id': vid, 'rule': rules[0], 'rules': rules, 'description': name, 'role': role, 'steps': steps}
    if options: t['options'] = options
    return finalize(t)

files = {}

# ---------------------------------------------------------------- greeting / session (F, I 421)
g = []
p = Peer(); s, _ = listener_open(p, chans=())
g.append(T('listener greets at once and accepts the greeting', ['F.34'], 'listener', s + [{'expect_nothing': True}]))
p = Peer()
g.append(T('initiator greets at once without waiting for the listener', ['F.34'], 'initiator', [
    {'expect_match': GREET_RE}, {'expect_nothing': True}, {'send': p.f('RPY', 0, 0, GREETING)}, {'expect_nothing': True}]))
p = Peer()
g.append(T('greeting with profiles, features and localize', ['F.34', 'G.39'], 'initiator', [
    {'expect_match': GREET_RE},
    {'send': p.f('RPY', 0, 0, XML + "<greeting features='x-a x-b' localize='fr en'><profile uri='urn:x:1' /><profile uri='urn:x:2'/></greeting>")},
    {'expect_nothing': True}]))
p = Peer()
g.append(T('unavailable listener peer: ERR 0 0 with 421 ends the session', ['F.35', 'I.47'], 'initiator', [
    {'expect_match': GREET_RE}, {'send': p.f('ERR', 0, 0, XML + "<error code='421'>service not available</error>")},
    {'expect_close': 'BEEP_PEER_ERROR'}]))
g.append(T('unavailable listener sends ERR 0 0 421 instead of a greeting and closes', ['F.35', 'I.47'], 'listener', [
    {'expect_match': err_re(0, 0, 421)}, {'expect_close': 'BEEP_UNAVAILABLE'}], unavailable={'code': 421, 'text': 'busy'}))
p = Peer()
g.append(T('MSG on channel 0 before the greeting terminates', ['F.36'], 'listener', [
    {'expect_match': GREET_RE}, {'send': p.f('MSG', 0, 1, start_xml(1, ECHO))}, {'expect_close': 'BEEP_EXPECTED_GREETING'}]))
p = Peer()
g.append(T('a frame on another channel before the greeting terminates', ['F.36', 'C.11'], 'listener', [
    {'expect_match': GREET_RE}, {'send': p.f('MSG', 1, 0, '\r\nhi')}, {'expect_close': 'BEEP_UNKNOWN_CHANNEL'}]))
p = Peer()
g.append(T('RPY 0 0 that is not a greeting terminates', ['F.36', 'C.21'], 'listener', [
    {'expect_match': GREET_RE}, {'send': p.f('RPY', 0, 0, XML + '<ok />')}, {'expect_close': 'BEEP_EXPECTED_GREETING'}]))
p = Peer()
g.append(T('a greeting that is not XML terminates', ['F.36', 'C.21'], 'initiator', [
    {'expect_match': GREET_RE}, {'send': p.f('RPY', 0, 0, XML + '<greeting')}, {'expect_close': 'BEEP_BAD_GREETING'}]))
p = Peer()
g.append(T('greeting without a MIME header block is accepted (lenient)', ['F.34'], 'listener', [
    {'expect_match': GREET_RE}, {'send': p.f('RPY', 0, 0, '<greeting/>')},
    {'send': p.f('MSG', 0, 1, start_xml(1, ECHO))}, {'expect_match': profile_ok(1, ECHO)}]))
g[-1]['iut'] = 'beamgate'  # a policy of beamgate's: without headers the RFC's default type is not beep+xml
files['sessions-greeting.json'] = g

# ---------------------------------------------------------------- channel management (H, I, G.40, F.37)
c = []
p = Peer(); s, m = listener_open(p, chans=())
c.append(T('start with the wrong parity is refused with 501', ['H.42', 'F.37', 'I.47'], 'listener', s + [
    {'send': p.f('MSG', 0, 1, start_xml(2, ECHO))}, {'expect_match': err_re(0, 1, 501)},
    {'send': p.f('MSG', 0, 2, start_xml(1, ECHO))}, {'expect_match': profile_ok(2, ECHO)}]))
p = Peer()
c.append(T('listener refuses an initiator-parity number from a listener peer', ['H.42', 'F.37'], 'initiator', [
    {'expect_match': GREET_RE}, {'send': p.f('RPY', 0, 0, GREETING)},
    {'send': p.f('MSG', 0, 1, start_xml(1, ECHO))}, {'expect_match': err_re(0, 1, 501)},
    {'send': p.f('MSG', 0, 2, start_xml(2, ECHO))}, {'expect_match': profile_ok(2, ECHO)}]))
p = Peer(); s, m = listener_open(p)
c.append(T('start of a channel number already in use is refused with 550', ['H.42'], 'listener', s + [
    {'send': p.f('MSG', 0, m, start_xml(1, ANS))}, {'expect_match': err_re(0, m, 550)}]))
p = Peer(); s, m = listener_open(p, chans=())
c.append(T('start of channel 0 is refused (501)', ['H.42'], 'listener', s + [
    {'send': p.f('MSG', 0, 1, start_xml(0, ECHO))}, {'expect_match': err_re(0, 1, 501)}]))
p = Peer(); s, m = listener_open(p, chans=())
c.append(T('no acceptable profile: 550', ['H.42', 'I.47'], 'listener', s + [
    {'send': p.f('MSG', 0, 1, start_xml(1, 'urn:unknown'))}, {'expect_match': err_re(0, 1, 550)}]))
p = Peer(); s, m = listener_open(p, chans=())
big = 'x' * 4097
b1 = p.big(0, 1, start_xml(1, ECHO, big)); b2 = p.big(0, 2, start_xml(1, ECHO, 'x' * 4000))
def fixpend(steps, after):
    out = []
    for st in steps:
        if '_pending_seq' in st: out.append({'expect': st['_pending_seq']})
        else: out.append(st)
    return out
c.append(T('profile content over 4096 octets is refused (501)', ['H.42'], 'listener', s + [{'send': 'SEQ 0 0 1000000\r\n'}]
    + fixpend(b1, None) + [{'expect_match': err_re(0, 1, 501)}] + fixpend(b2, None) +
    [{'expect_match': rpy_re(0, 2, r"Content-Type: application/beep\+xml\r\n\r\n<profile uri='" + E(ECHO) + r"'>(?:<!\[CDATA\[x{4000}\]\]>|x{4000})</profile>")}]))
p = Peer(); s, m = listener_open(p, chans=())
c.append(T('declined serverName is refused (550)', ['H.42', 'H.43'], 'listener', s + [
    {'send': p.f('MSG', 0, 1, start_xml(1, ECHO, server='bad.example'))}, {'expect_match': err_re(0, 1, 550)},
    {'send': p.f('MSG', 0, 2, start_xml(1, ECHO, server='good.example'))}, {'expect_match': profile_ok(2, ECHO)}],
    acceptServerNames=['good.example']))
p = Peer(); s, m = listener_open(p, chans=())
c.append(T('piggybacked content is echoed in the start reply', ['H.43'], 'listener', s + [
    {'send': p.f('MSG', 0, 1, start_xml(1, ECHO, '<![CDATA[<ready />]]>'))},
    {'expect_match': rpy_re(0, 1, r"Content-Type: application/beep\+xml\r\n\r\n<profile uri='" + E(ECHO) + r"'>(?:<!\[CDATA\[<ready />\]\]>|&lt;ready /&gt;)</profile>")}]))
b64 = base64.b64encode(bytes(range(0, 256, 7))).decode()
p = Peer(); s, m = listener_open(p, chans=())
c.append(T('base64 piggybacked content both ways', ['H.43'], 'listener', s + [
    {'send': p.f('MSG', 0, 1, start_xml(1, ECHO, b64, 'base64'))},
    {'expect_match': rpy_re(0, 1, r"Content-Type: application/beep\+xml\r\n\r\n<profile uri='" + E(ECHO) + r"' encoding='base64'>" + E(b64) + "</profile>")}]))
p = Peer(); s, m = listener_open(p, chans=())
c.append(T('first acceptable of several offered profiles is chosen', ['H.43'], 'listener', s + [
    {'send': p.f('MSG', 0, 1, XML + f"<start number='1'><profile uri='urn:nope'/><profile uri='{ANS}'/><profile uri='{ECHO}'/></start>")},
    {'expect_match': profile_ok(1, ANS)}]))
p = Peer(); s, m = listener_open(p, chans=())
c.append(T('poorly formed start XML gets ERR 500 and the session stays up', ['C.21', 'I.47', 'G.41'], 'listener', s + [
    {'send': p.f('MSG', 0, 1, XML + "<start number='1'><profile uri='x'></start>")}, {'expect_match': err_re(0, 1, 500)},
    {'send': p.f('MSG', 0, 2, XML + "<!DOCTYPE start []><start number='1'><profile uri='x'/></start>")}, {'expect_match': err_re(0, 2, 500)},
    {'send': p.f('MSG', 0, 3, XML + "<greeting/>")}, {'expect_match': err_re(0, 3, 501)},
    {'send': p.f('MSG', 0, 4, start_xml(1, ECHO))}, {'expect_match': profile_ok(4, ECHO)}]))
# 257 channels
p = Peer(); s, m = listener_open(p, chans=())
steps = s + [{'send': 'SEQ 0 0 1000000\r\n'}]
for i in range(257):
    steps.append({'send': p.f('MSG', 0, i + 1, start_xml(2 * i + 1, ECHO))})
    sq = p.seq_due(0)
    if sq: steps.append({'expect': sq})
    steps.append({'expect_match': profile_ok(i + 1, ECHO)})
steps += [{'send': p.f('MSG', 513, 0, '\r\nlast')}, {'expect_match': echo_re(513, 0, 'last')},
          {'send': p.f('MSG', 1, 0, '\r\nfirst')}, {'expect_match': echo_re(1, 0, 'first')}]
c.append(T('257 concurrent channels', ['H.46'], 'listener', steps))
p = Peer(); s, m = listener_open(p, chans=())
c.append(T('maxChannels reached: further starts refused with 550', ['H.42', 'E.33'], 'listener', s + [
    {'send': p.f('MSG', 0, 1, start_xml(1, ECHO))}, {'expect_match': profile_ok(1, ECHO)},
    {'send': p.f('MSG', 0, 2, start_xml(3, ECHO))}, {'expect_match': err_re(0, 2, 550)}], maxChannels=1))
p = Peer()
c.append(T('initiator starts a channel and uses it', ['H.43', 'F.37'], 'initiator', [
    {'expect_match': GREET_RE}, {'send': p.f('RPY', 0, 0, XML + f"<greeting><profile uri='{ECHO}'/></greeting>")},
    {'action': 'start_channel', 'profile': ECHO, 'id': 's'},
    {'expect_match': rpy_re(0, 1, r"Content-Type: application/beep\+xml\r\n\r\n<start number='1'><profile uri='" + E(ECHO) + r"'\s*/></start>", kw='MSG')},
    {'send': p.f('RPY', 0, 1, XML + f"<profile uri='{ECHO}'/>")}, {'action_result': 's'},
    {'action': 'request', 'channel': 1, 'body': 'ping', 'id': 'r'},
    {'expect': 'MSG 1 0 . 0 6\r\n\r\npingEND\r\n'},
    {'send': p.f('RPY', 1, 0, 'Content-Type: text/plain\r\n\r\npong')}, {'action_result': 'r', 'reply_body': 'pong'}]))
p = Peer()
c.append(T('a refused start rejects with the peer code (554 accepted as refusal)', ['H.42', 'I.47'], 'initiator', [
    {'expect_match': GREET_RE}, {'send': p.f('RPY', 0, 0, GREETING)},
    {'action': 'start_channel', 'profile': ECHO, 'id': 's'},
    {'expect_match': rpy_re(0, 1, r"[\s\S]*?", kw='MSG')},
    {'send': p.f('ERR', 0, 1, XML + "<error code='554'>transaction failed</error>")},
    {'action_result': 's', 'ok': False, 'reply_code': 554}, {'expect_nothing': True}]))
p = Peer()
c.append(T('a start reply naming a profile that was not offered terminates', ['C.21'], 'initiator', [
    {'expect_match': GREET_RE}, {'send': p.f('RPY', 0, 0, GREETING)},
    {'action': 'start_channel', 'profile': ECHO, 'id': 's'}, {'expect_match': rpy_re(0, 1, r"[\s\S]*?", kw='MSG')},
    {'send': p.f('RPY', 0, 1, XML + "<profile uri='urn:other'/>")}, {'expect_close': 'BEEP_BAD_START_REPLY'}]))
p = Peer()
c.append(T('ANS on channel 0 terminates', ['G.40', 'C.21'], 'initiator', [
    {'expect_match': GREET_RE}, {'send': p.f('RPY', 0, 0, GREETING)},
    {'action': 'start_channel', 'profile': ECHO, 'id': 's'}, {'expect_match': rpy_re(0, 1, r"[\s\S]*?", kw='MSG')},
    {'send': p.f('ANS', 0, 1, XML + "<profile uri='urn:other'/>", ansno=0)}, {'expect_close': 'BEEP_CHANNEL0_ANS'}]))
files['sessions-channels.json'] = c

# ---------------------------------------------------------------- exchanges (C)
x = []
p = Peer(); s, m = listener_open(p)
x.append(T('echo on an open channel; MSG on a channel never started terminates', ['C.11'], 'listener', s + [
    {'send': p.f('MSG', 1, 0, '\r\nhello')}, {'expect_match': echo_re(1, 0, 'hello')},
    {'send': p.f('MSG', 3, 0, '\r\nhello')}, {'expect_close': 'BEEP_UNKNOWN_CHANNEL'}]))
p = Peer(); s, m = listener_open(p)
x.append(T('a payload without MIME headers is accepted as a message (echoed whole)', ['C.21'], 'listener', s + [
    # the echo returns the entity, or the body behind an empty header block (Vortex)
    {'send': p.f('MSG', 1, 0, 'plain')}, {'expect_match': rpy_re(1, 0, r'(?:\r\n)?plain')},
    {'send': p.f('MSG', 1, 1, 'Content-Type: text/plain\r\nX-A: 1\r\n\r\nbody')},
    {'expect_match': rpy_re(1, 1, '(?:' + E('Content-Type: text/plain\r\nX-A: 1\r\n') + ')?' + E('\r\nbody'))}]))
p = Peer(); s, m = listener_open(p, chans=((1, HOLD),))
x.append(T('MSG reusing an unanswered msgno terminates', ['C.12'], 'listener', s + [
    {'send': p.f('MSG', 1, 0, '\r\na')}, {'expect_nothing': True},
    {'send': p.f('MSG', 1, 0, '\r\nb')}, {'expect_close': 'BEEP_MSGNO_IN_USE'}]))
p = Peer(); s, m = listener_open(p)
x.append(T('msgno may be reused once answered', ['C.12'], 'listener', s + [
    {'send': p.f('MSG', 1, 0, '\r\na')}, {'expect_match': echo_re(1, 0, 'a')},
    {'send': p.f('MSG', 1, 0, '\r\nb')}, {'expect_match': echo_re(1, 0, 'b')},
    {'send': p.f('MSG', 1, 2147483647, '\r\nc')}, {'expect_match': echo_re(1, 2147483647, 'c')}]))
p = Peer(); s, m = listener_open(p)
x.append(T('a reply to a msgno never sent terminates', ['C.13'], 'listener', s + [
    {'send': p.f('RPY', 1, 5, '\r\nx')}, {'expect_close': 'BEEP_UNEXPECTED_REPLY'}]))
p = Peer(); s, m = listener_open(p)
x.append(T('a reply on channel 0 to a msgno never sent terminates', ['C.13'], 'listener', s + [
    {'send': p.f('RPY', 0, 7, XML + '<ok/>')}, {'expect_close': 'BEEP_UNEXPECTED_REPLY'}]))

def init_open(p, profile=ECHO):
    return [{'expect_match': GREET_RE}, {'send': p.f('RPY', 0, 0, GREETING)},
            {'action': 'start_channel', 'profile': profile, 'id': 'start'},
            {'expect_match': rpy_re(0, 1, r"[\s\S]*?", kw='MSG')},
            {'send': p.f('RPY', 0, 1, XML + f"<profile uri='{profile}'/>")}, {'action_result': 'start'}]

p = Peer(); s = init_open(p)
x.append(T('a second reply to an answered msgno terminates', ['C.14'], 'initiator', s + [
    {'action': 'request', 'channel': 1, 'body': 'a', 'id': 'r'}, {'expect': 'MSG 1 0 . 0 3\r\n\r\naEND\r\n'},
    {'send': p.f('RPY', 1, 0, '\r\nA')}, {'action_result': 'r', 'reply_body': 'A'},
    {'send': p.f('RPY', 1, 0, '\r\nA')}, {'expect_close': 'BEEP_UNEXPECTED_REPLY'}]))
p = Peer(); s = init_open(p)
x.append(T('RPY frames followed by an ERR frame terminate', ['C.15'], 'initiator', s + [
    {'action': 'request', 'channel': 1, 'body': 'a', 'id': 'r'}, {'expect': 'MSG 1 0 . 0 3\r\n\r\naEND\r\n'},
    {'send': p.f('RPY', 1, 0, '\r\nA', more=True)}, {'send': p.f('ERR', 1, 0, 'B')}, {'expect_close': 'BEEP_KEYWORD_CHANGED'}]))
p = Peer(); s = init_open(p)
x.append(T('ANS followed by RPY for the same msgno terminates', ['C.15'], 'initiator', s + [
    {'action': 'request', 'channel': 1, 'body': 'a', 'id': 'r'}, {'expect': 'MSG 1 0 . 0 3\r\n\r\naEND\r\n'},
    {'send': p.f('ANS', 1, 0, '\r\nA', ansno=0)}, {'send': p.f('RPY', 1, 0, '\r\nB')}, {'expect_close': 'BEEP_KEYWORD_CHANGED'}]))
p = Peer(); s = init_open(p)
x.append(T('NUL after RPY frames terminates', ['C.16'], 'initiator', s + [
    {'action': 'request', 'channel': 1, 'body': 'a', 'id': 'r'}, {'expect': 'MSG 1 0 . 0 3\r\n\r\naEND\r\n'},
    {'send': p.f('RPY', 1, 0, '\r\nA', more=True)}, {'send': p.f('NUL', 1, 0, '')}, {'expect_close': 'BEEP_KEYWORD_CHANGED'}]))
p = Peer(); s = init_open(p)
x.append(T('NUL with zero ANS completes the exchange', ['C.16'], 'initiator', s + [
    {'action': 'request', 'channel': 1, 'body': 'a', 'id': 'r'}, {'expect': 'MSG 1 0 . 0 3\r\n\r\naEND\r\n'},
    {'send': p.f('NUL', 1, 0, '')}, {'action_result': 'r'},
    {'action': 'request', 'channel': 1, 'body': 'b', 'id': 'r2'}, {'expect': 'MSG 1 1 . 3 3\r\n\r\nbEND\r\n'}]))
p = Peer(); s = init_open(p)
x.append(T('NUL with a CRLF payload (Vortex) is accepted when not strict', ['C.17'], 'initiator', s + [
    {'action': 'request', 'channel': 1, 'body': 'a', 'id': 'r'}, {'expect': 'MSG 1 0 . 0 3\r\n\r\naEND\r\n'},
    {'send': p.f('ANS', 1, 0, '\r\nA', ansno=0)}, {'send': p.f('NUL', 1, 0, '\r\n')}, {'action_result': 'r'}]))
p = Peer(); s = init_open(p)
x.append(T('NUL with a CRLF payload is refused in strict mode', ['C.17'], 'initiator', s + [
    {'action': 'request', 'channel': 1, 'body': 'a', 'id': 'r'}, {'expect': 'MSG 1 0 . 0 3\r\n\r\naEND\r\n'},
    {'send': p.f('NUL', 1, 0, '\r\n')}, {'expect_close': 'BEEP_NUL_PAYLOAD'}], strict=True))
p = Peer(); s = init_open(p)
x.append(T('NUL with * terminates', ['C.17'], 'initiator', s + [
    {'action': 'request', 'channel': 1, 'body': 'a', 'id': 'r'}, {'expect': 'MSG 1 0 . 0 3\r\n\r\naEND\r\n'},
    {'send': p.f('NUL', 1, 0, '', more=True)}, {'expect_close': 'BEEP_NUL_MORE'}]))
p = Peer(); s = init_open(p)
x.append(T('NUL with a non-empty payload terminates', ['C.17'], 'initiator', s + [
    {'action': 'request', 'channel': 1, 'body': 'a', 'id': 'r'}, {'expect': 'MSG 1 0 . 0 3\r\n\r\naEND\r\n'},
    {'send': p.f('NUL', 1, 0, 'abc')}, {'expect_close': 'BEEP_NUL_PAYLOAD'}]))
p = Peer(); s = init_open(p)
x.append(T('NUL while an ANS is incomplete terminates', ['C.16', 'C.18'], 'initiator', s + [
    {'action': 'request', 'channel': 1, 'body': 'a', 'id': 'r'}, {'expect': 'MSG 1 0 . 0 3\r\n\r\naEND\r\n'},
    {'send': p.f('ANS', 1, 0, '\r\nA', more=True, ansno=0)}, {'send': p.f('NUL', 1, 0, '')}, {'expect_close': 'BEEP_NUL_INCOMPLETE'}]))
p = Peer(); s, m = listener_open(p)
x.append(T('after a * frame, a frame of another msgno terminates', ['C.18'], 'listener', s + [
    {'send': p.f('MSG', 1, 0, '\r\nhel', more=True)}, {'send': p.f('MSG', 1, 1, '\r\nx')}, {'expect_close': 'BEEP_INTERLEAVED'}]))
p = Peer(); s, m = listener_open(p)
x.append(T('a multi-frame MSG is reassembled', ['C.18', 'B.8'], 'listener', s + [
    {'send': p.f('MSG', 1, 0, '\r\nhel', more=True)}, {'send': p.f('MSG', 1, 0, 'lo END\r\n', more=True)},
    {'send': p.f('MSG', 1, 0, 'world')}, {'expect_match': echo_re(1, 0, 'hello END\r\nworld')}]))
p = Peer(); s = init_open(p)
x.append(T('ANS frames of two ansnos interleave; an ansno may be reused once complete', ['C.18', 'C.19'], 'initiator', s + [
    {'action': 'request', 'channel': 1, 'body': 'a', 'id': 'r'}, {'expect': 'MSG 1 0 . 0 3\r\n\r\naEND\r\n'},
    {'send': p.f('ANS', 1, 0, '\r\none-', more=True, ansno=0)}, {'send': p.f('ANS', 1, 0, '\r\ntwo', ansno=1)},
    {'send': p.f('ANS', 1, 0, 'done', ansno=0)}, {'send': p.f('ANS', 1, 0, '\r\nthree', ansno=1)},
    {'send': p.f('NUL', 1, 0, '')}, {'action_result': 'r'}]))
p = Peer(); s = init_open(p)
x.append(T('replies out of MSG order terminate', ['C.20'], 'initiator', s + [
    {'action': 'request', 'channel': 1, 'body': 'a', 'id': 'r0'}, {'action': 'request', 'channel': 1, 'body': 'b', 'id': 'r1'},
    {'expect': 'MSG 1 0 . 0 3\r\n\r\naEND\r\nMSG 1 1 . 3 3\r\n\r\nbEND\r\n'},
    {'send': p.f('RPY', 1, 1, '\r\nB')}, {'expect_close': 'BEEP_REPLY_OUT_OF_ORDER'}]))
p = Peer(); s = init_open(p)
x.append(T('pipelined replies in MSG order', ['C.20'], 'initiator', s + [
    {'action': 'request', 'channel': 1, 'body': 'a', 'id': 'r0'}, {'action': 'request', 'channel': 1, 'body': 'b', 'id': 'r1'},
    {'expect': 'MSG 1 0 . 0 3\r\n\r\naEND\r\nMSG 1 1 . 3 3\r\n\r\nbEND\r\n'},
    {'send': p.f('RPY', 1, 0, '\r\nA') + p.f('ERR', 1, 1, XML + "<error code='550'>no</error>")},
    {'action_result': 'r0', 'reply_body': 'A'}, {'action_result': 'r1', 'ok': False, 'reply_code': 550}]))
p = Peer(); s = init_open(p)
x.append(T('pre-emptive ERR: the client ends its MSG with an empty final frame', ['C.22', 'E.29'], 'initiator', s + [
    {'action': 'request', 'channel': 1, 'body': 'z' * 5000, 'id': 'r'},
    {'expect': 'MSG 1 0 * 0 4096\r\n\r\n' + 'z' * 4094 + 'END\r\n'}, {'expect_nothing': True},
    {'send': p.f('ERR', 1, 0, XML + "<error code='554'>too big</error>")},
    {'expect': 'MSG 1 0 . 4096 0\r\nEND\r\n'}, {'action_result': 'r', 'ok': False, 'reply_code': 554}]))
p = Peer(); s = init_open(p)
x.append(T('RPY before the MSG is complete terminates', ['C.22'], 'initiator', s + [
    {'action': 'request', 'channel': 1, 'body': 'z' * 5000, 'id': 'r'},
    {'expect': 'MSG 1 0 * 0 4096\r\n\r\n' + 'z' * 4094 + 'END\r\n'},
    {'send': p.f('RPY', 1, 0, '\r\nok')}, {'expect_close': 'BEEP_PREMATURE_REPLY'}]))
p = Peer(); s, m = listener_open(p)
x.append(T('a MSG over maxMessageSize gets a pre-emptive ERR 554; its rest is ignored', ['C.22', 'I.47'], 'listener', s + [
    {'send': p.f('MSG', 1, 0, 'y' * 4096, more=True)}, {'expect': 'SEQ 1 4096 4096\r\n'},
    {'send': p.f('MSG', 1, 0, 'y' * 10, more=True)}, {'expect_match': err_re(1, 0, 554)},
    {'send': p.f('MSG', 1, 0, 'y')}, {'send': p.f('MSG', 1, 1, '\r\nnext')}, {'expect_match': echo_re(1, 1, 'next')}],
    maxMessageSize=4096))
p = Peer(); s, m = listener_open(p, chans=((1, ANS),))
x.append(T('one-to-many reply: ANS ... NUL, NUL has size 0', ['C.16', 'C.17'], 'listener', s + [
    {'send': p.f('MSG', 1, 0, '\r\n3,5')},
    {'expect_match': ''.join(rf"ANS 1 0 \. \d+ 7 {i}\r\n\r\n{b}END\r\n" for i, b in enumerate(ans_bodies(3, 5))) + r"NUL 1 0 \. \d+ 0\r\nEND\r\n"}]))
p = Peer(); s, m = listener_open(p, chans=((1, ECHO), (3, HOLD)))
x.append(T('either side may send MSG on a channel (both roles on one channel)', ['C.13', 'F.37'], 'listener', s + [
    {'send': p.f('MSG', 1, 0, '\r\nx')}, {'expect_match': echo_re(1, 0, 'x')}]))
p = Peer(); s, m = listener_open(p)
x.append(T('pipelined MSGs on one channel are answered in MSG order', ['C.20', 'B.10'], 'listener', s + [
    {'send': p.f('MSG', 1, 0, '\r\none') + p.f('MSG', 1, 1, '\r\ntwo') + p.f('MSG', 1, 2, '\r\nthree')},
    {'expect_match': echo_re(1, 0, 'one') + echo_re(1, 1, 'two') + echo_re(1, 2, 'three')}]))
files['sessions-exchanges.json'] = x

# ---------------------------------------------------------------- flow control (D, E)
f = []
p = Peer(); s, m = listener_open(p, chans=((1, HOLD),))
f.append(T('a frame filling the initial 4096 window exactly is accepted', ['D.23', 'D.25'], 'listener', s + [
    {'send': p.f('MSG', 1, 0, 'a' * 4096)}, {'expect': 'SEQ 1 4096 4096\r\n'}]))
p = Peer(); s, m = listener_open(p, chans=((1, HOLD),))
f.append(T('a frame beyond the window is refused from its header', ['D.23', 'D.25'], 'listener', s + [
    {'send': 'MSG 1 0 . 0 4097\r\n'}, {'expect_close': 'BEEP_WINDOW_EXCEEDED'}]))
p = Peer(); s, m = listener_open(p, chans=((1, HOLD),))
f.append(T('channel 0 has its own 4096 window', ['D.23'], 'listener', s + [
    {'send': f"MSG 0 {m} . {p.seq[0]} 4097\r\n"}, {'expect_close': 'BEEP_WINDOW_EXCEEDED'}]))
p = Peer(); s, m = listener_open(p)
f.append(T('wrong seqno terminates', ['D.24'], 'listener', s + [
    {'send': p.f('MSG', 1, 0, '\r\na')}, {'expect_match': echo_re(1, 0, 'a')},
    {'send': p.f('MSG', 1, 1, '\r\nb', seq=0)}, {'expect_close': 'BEEP_BAD_SEQNO'}]))
p = Peer(); s, m = listener_open(p)
f.append(T('wrong seqno on channel 0 terminates', ['D.24'], 'listener', s + [
    {'send': p.f('MSG', 0, m, start_xml(3, ECHO), seq=5)}, {'expect_close': 'BEEP_BAD_SEQNO'}]))
# wrap
W = 4294967000
p = Peer(W); s, m = listener_open(p)
body = 'w' * (296 - 2)
f.append(T('seqno wraps: a frame ends exactly at 4294967295, the next starts at 0', ['D.26', 'D.24', 'E.30'], 'listener', s + [
    {'send': p.f('MSG', 1, 0, '\r\n' + body)}, {'expect_match': rpy_re(1, 0, r"\r\nw{294}").replace(r'\d+ \d+', f'{W} 296', 1)},
    {'send': p.f('MSG', 1, 1, '\r\nafter')}, {'expect': 'RPY 1 1 . 0 7\r\n\r\nafterEND\r\n'}], initialSeqno=W))
p = Peer(W); s, m = listener_open(p)
f.append(T('seqno wrap: a frame crossing 2^32 is accepted and a stale seqno is refused', ['D.26', 'D.24'], 'listener', s + [
    {'send': p.f('MSG', 1, 0, '\r\n' + 'v' * 398)},
    {'expect_match': rpy_re(1, 0, r"\r\nv{398}").replace(r'\d+ \d+', f'{W} 400', 1)},
    {'send': p.f('MSG', 1, 1, '\r\nx', seq=4294967300 % 2**32 if False else 4294967295)}, {'expect_close': 'BEEP_BAD_SEQNO'}], initialSeqno=W))
p = Peer(); s, m = listener_open(p)
f.append(T('SEQ for a channel that is not open terminates', ['E.28'], 'listener', s + [
    {'send': 'SEQ 5 0 8192\r\n'}, {'expect_close': 'BEEP_UNKNOWN_CHANNEL'}]))
p = Peer(); s, m = listener_open(p)
f.append(T('SEQ acknowledging octets never sent terminates', ['E.28'], 'listener', s + [
    {'send': 'SEQ 1 10 8192\r\n'}, {'expect_close': 'BEEP_SEQ_BAD_ACKNO'}]))
p = Peer(); s, m = listener_open(p)
f.append(T('SEQ moving the right edge left terminates', ['E.28'], 'listener', s + [
    {'send': 'SEQ 1 0 8192\r\n'}, {'expect_nothing': True}, {'send': 'SEQ 1 0 5000\r\n'}, {'expect_close': 'BEEP_SEQ_WINDOW_SHRINK'}]))
p = Peer(); s, m = listener_open(p)
f.append(T('unparseable SEQ terminates', ['E.27'], 'listener', s + [
    {'send': 'SEQ 1 0\r\n'}, {'expect_close': 'BEEP_PARAM_COUNT'}]))
p = Peer(); s, m = listener_open(p)
body = 'q' * 6000
f.append(T('the sender never exceeds the peer window and resumes on SEQ', ['E.29', 'D.25'], 'listener', s + [
    {'send': p.f('MSG', 1, 0, '\r\n' + body[:2046], more=True)}, {'expect': 'SEQ 1 2048 4096\r\n'},
    {'send': p.f('MSG', 1, 0, body[2046:])}, {'expect': 'SEQ 1 6002 4096\r\n'},
    {'expect': 'RPY 1 0 * 0 4096\r\n\r\n' + body[:4094] + 'END\r\n'}, {'expect_nothing': True},
    {'send': 'SEQ 1 4096 4096\r\n'}, {'expect': 'RPY 1 0 . 4096 1906\r\n' + body[4094:] + 'END\r\n'}]))
p = Peer(); s, m = listener_open(p, chans=((1, HOLD),))
f.append(T('SEQ only once half the window is free again (no SEQ per frame)', ['E.30'], 'listener', s + [
    {'send': p.f('MSG', 1, 0, 'a' * 1000)}, {'expect_nothing': True},
    {'send': p.f('MSG', 1, 1, 'a' * 1047)}, {'expect_nothing': True},
    {'send': p.f('MSG', 1, 2, 'a')}, {'expect': 'SEQ 1 2048 4096\r\n'}]))
p = Peer(); s, m = listener_open(p, chans=((1, HOLD),))
f.append(T('a larger receive window is advertised at once after the start reply', ['E.31'], 'listener', s + [
    {'expect': 'SEQ 1 0 65536\r\n'}, {'send': p.f('MSG', 1, 0, 'a' * 30000)}, {'expect_nothing': True},
    {'send': p.f('MSG', 1, 1, 'a' * 30000)}, {'expect': 'SEQ 1 60000 65536\r\n'}], receiveWindow=65536))
p = Peer(); s = init_open(p)
f.append(T('initiator advertises its larger window right after the start reply', ['E.31'], 'initiator', s + [
    {'expect': 'SEQ 1 0 20000\r\n'}], receiveWindow=20000))
p = Peer(); s, m = listener_open(p, chans=((1, ECHO), (3, ECHO)))
b1 = 'A' * 2498; b3 = 'B' * 2498
f.append(T('frames cut to maxSendFrameSize and served round-robin across channels', ['E.32'], 'listener', s + [
    {'send': p.f('MSG', 1, 0, '\r\n' + b1) + p.f('MSG', 3, 0, '\r\n' + b3)},
    {'expect': 'SEQ 1 2500 4096\r\nSEQ 3 2500 4096\r\n'},
    {'expect': 'RPY 1 0 * 0 1000\r\n\r\n' + b1[:998] + 'END\r\n' + 'RPY 3 0 * 0 1000\r\n\r\n' + b3[:998] + 'END\r\n'
              + 'RPY 1 0 * 1000 1000\r\n' + b1[998:1998] + 'END\r\n' + 'RPY 3 0 * 1000 1000\r\n' + b3[998:1998] + 'END\r\n'
              + 'RPY 1 0 . 2000 500\r\n' + b1[1998:] + 'END\r\n' + 'RPY 3 0 . 2000 500\r\n' + b3[1998:] + 'END\r\n'}],
    maxSendFrameSize=1000))
files['sessions-flow.json'] = f

# ---------------------------------------------------------------- close (F.38, H.44, H.45)
k = []
p = Peer(); s, m = listener_open(p)
k.append(T('channel close: ok, then the channel is gone', ['H.45', 'C.11'], 'listener', s + [
    {'send': p.f('MSG', 1, 0, '\r\na')}, {'expect_match': echo_re(1, 0, 'a')},
    {'send': p.f('MSG', 0, m, XML + "<close number='1' code='200'/>")}, {'expect_match': ok_re(m)},
    {'send': p.f('MSG', 1, 1, '\r\nb')}, {'expect_close': 'BEEP_UNKNOWN_CHANNEL'}]))
p = Peer(); s, m = listener_open(p, chans=((1, HOLD),))
k.append(T('channel close while a reply is unfinished is declined with 550', ['H.45', 'I.47'], 'listener', s + [
    {'send': p.f('MSG', 1, 0, '\r\na')}, {'send': p.f('MSG', 0, m, XML + "<close number='1' code='200'/>")},
    {'expect_nothing': True}, {'wait_ms': 120}, {'expect_match': err_re(0, m, 550)},
    {'send': p.f('MSG', 0, m + 1, start_xml(3, ECHO))}, {'expect_match': profile_ok(m + 1, ECHO)}], closeTimeout=50))
p = Peer(); s, m = listener_open(p)
k.append(T('close of a channel that is not open: 550', ['H.45'], 'listener', s + [
    {'send': p.f('MSG', 0, m, XML + "<close number='7' code='200'/>")}, {'expect_match': err_re(0, m, 550)}]))
p = Peer(); s, m = listener_open(p)
k.append(T('session release: ok, and the ok sender closes first', ['F.38', 'H.45'], 'listener', s + [
    {'send': p.f('MSG', 0, m, XML + "<close code='200'/>")}, {'expect_match': ok_re(m)}, {'expect_close': None}]))
p = Peer(); s, m = listener_open(p, chans=((1, HOLD),))
k.append(T('session release declined (550) while busy; the session stays up', ['F.38', 'H.45'], 'listener', s + [
    {'send': p.f('MSG', 1, 0, '\r\na')}, {'send': p.f('MSG', 0, m, XML + "<close number='0' code='200'/>")},
    {'wait_ms': 120}, {'expect_match': err_re(0, m, 550)},
    {'send': p.f('MSG', 0, m + 1, start_xml(3, ECHO))}, {'expect_match': profile_ok(m + 1, ECHO)},
    {'send': p.f('MSG', 3, 0, '\r\nalive')}, {'expect_match': echo_re(3, 0, 'alive')}], closeTimeout=50))
p = Peer(); s = init_open(p)
k.append(T('initiator closes a channel and then the session', ['H.44', 'F.38'], 'initiator', s + [
    {'action': 'close_channel', 'channel': 1, 'id': 'c'},
    {'expect_match': rpy_re(0, 2, r"Content-Type: application/beep\+xml\r\n\r\n<close number='1' code='200'\s*/>", kw='MSG')},
    {'send': p.f('RPY', 0, 2, XML + '<ok/>')}, {'action_result': 'c'},
    {'action': 'close_session', 'id': 'q'},
    {'expect_match': rpy_re(0, 3, r"Content-Type: application/beep\+xml\r\n\r\n<close number='0' code='200'\s*/>", kw='MSG')},
    {'send': p.f('RPY', 0, 3, XML + '<ok/>')}, {'action_result': 'q'}, {'expect_close': None}]))
p = Peer(); s = init_open(p)
k.append(T('close waits until our MSGs are acknowledged', ['H.44'], 'initiator', s + [
    {'action': 'request', 'channel': 1, 'body': 'a', 'id': 'r'}, {'expect': 'MSG 1 0 . 0 3\r\n\r\naEND\r\n'},
    {'action': 'close_channel', 'channel': 1, 'id': 'c'}, {'expect_nothing': True},
    {'send': p.f('RPY', 1, 0, '\r\nA')},
    {'expect_match': rpy_re(0, 2, r"Content-Type: application/beep\+xml\r\n\r\n<close number='1' code='200'\s*/>", kw='MSG')}]))
p = Peer(); s = init_open(p)
k.append(T('a declined session release rejects and the session stays up', ['F.38'], 'initiator', s + [
    {'action': 'close_session', 'id': 'q'}, {'expect_match': rpy_re(0, 2, r"[\s\S]*?", kw='MSG')},
    {'send': p.f('ERR', 0, 2, XML + "<error code='550'>busy</error>")}, {'action_result': 'q', 'ok': False, 'reply_code': 550},
    {'action': 'request', 'channel': 1, 'body': 'a', 'id': 'r'}, {'expect': 'MSG 1 0 . 0 3\r\n\r\naEND\r\n'}]))
p = Peer(); s = init_open(p)
k.append(T('simultaneous channel close does not deadlock', ['H.45'], 'initiator', s + [
    {'action': 'close_channel', 'channel': 1, 'id': 'c'},
    {'expect_match': rpy_re(0, 2, r"[\s\S]*?", kw='MSG')},
    {'send': p.f('MSG', 0, 1, XML + "<close number='1' code='200'/>")}, {'expect_match': ok_re(1)},
    {'send': p.f('RPY', 0, 2, XML + '<ok/>')}, {'action_result': 'c'}, {'expect_nothing': True}]))
p = Peer(); s = init_open(p)
k.append(T('simultaneous session close does not deadlock', ['F.38', 'H.45'], 'initiator', s + [
    {'action': 'close_session', 'id': 'q'}, {'expect_match': rpy_re(0, 2, r"[\s\S]*?", kw='MSG')},
    {'send': p.f('MSG', 0, 1, XML + "<close code='200'/>")}, {'expect_match': ok_re(1)},
    {'action_result': 'q'}, {'expect_close': None}]))
files['sessions-close.json'] = k

for name, ts in files.items():
    ids = [t['id'] for t in ts]
    assert len(ids) == len(set(ids)), ids
    doc = {'kind': 'beep-session', 'version': 1,
           'description': 'BEEP session transcripts; format in test-vectors/README.md (Session transcripts).', 'vectors': ts}
    with open(os.path.join(OUT, name), 'w') as fh:
        head = json.dumps({k: v for k, v in doc.items() if k != 'vectors'}, ensure_ascii=True)[:-1]
        fh.write(head + ', "vectors": [\n')
        fh.write(',\n'.join(json.dumps(t, ensure_ascii=True) for t in ts))
        fh.write('\n]}\n')
print({k: len(v) for k, v in files.items()})
