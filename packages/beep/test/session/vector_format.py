# Shared by the session-transcript generators: profile URIs and the replay-over-TCP fields of test-vectors/README.md.
import re

# The test profiles `beep listen` serves (packages/beep/src/testing/test-profiles.ts).
ECHO = 'urn:beamgate:profile:test:echo'
ANS = 'urn:beamgate:profile:test:ans'
HOLD = 'urn:beamgate:profile:test:hold'
NEEDS = {ECHO: 'echo', ANS: 'ans', HOLD: 'hold'}
TLS = 'http://iana.org/beep/TLS'
SASL_PREFIX = 'http://iana.org/beep/SASL/'


def ans_bodies(count, size):
    """The bodies the ans profile sends for a MSG `count,size`: `size` octets of a repeating a..z pattern."""
    pattern = 'abcdefghijklmnopqrstuvwxyz' * (size // 26 + 1)
    return [pattern[:size]] * count


def finalize(t):
    """Adds `needs` and turns the initiator's scripted acts into `do` / `outcome` steps (no API hooks)."""
    text = repr(t['steps'])
    needs = [name for uri, name in NEEDS.items() if uri in text]
    # Piggybacked start content for the echo profile, which must return it in its <profile> reply.
    sends = ' '.join(st.get('send', '') for st in t['steps'])
    if re.search(re.escape(ECHO) + r"'[^>/]*>(?!</profile>)", sends):
        needs.append('echo-content')
    if TLS in text:
        needs.append('tls')
    if SASL_PREFIX in text:
        needs.append('sasl')
    steps = []
    for s in t['steps']:
        s = dict(s)
        if 'action' in s:
            s['do'] = s.pop('action')
        if 'action_result' in s:
            s['outcome'] = s.pop('action_result')
        steps.append(s)
    if any('do' in s for s in steps):
        needs.append('script')
    t['steps'] = steps
    t['needs'] = needs or ['channel0']
    # Keep the key order readable: needs right after role.
    order = ['id', 'rule', 'rules', 'description', 'role', 'needs', 'iut', 'options', 'steps']
    return {k: t[k] for k in order if k in t} | {k: v for k, v in t.items() if k not in order}
