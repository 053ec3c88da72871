/**
 * Built-in test profiles, served by `beep listen` and used by the gateway tests:
 * - echo: replies RPY with the request's entity, headers included, and returns piggybacked start content in its
 *   `<profile>` reply (`urn:beamgate:profile:test:echo`);
 * - ans:  body `N,SIZE` gives N ANS of SIZE octets each, then NUL (`urn:beamgate:profile:test:ans`);
 * - sink: reads the MSG as a stream (any size) and replies an empty RPY (`urn:beamgate:profile:test:sink`);
 * - hold: never answers; a held MSG keeps its msgno in use until the channel or session ends
 *   (`urn:beamgate:profile:test:hold`, used by the conformance vectors for pending-reply rules).
 */
import type { ProfileDefinition } from '../session/types.js';

export const TEST_PROFILE_URIS = Object.freeze({
  echo: 'urn:beamgate:profile:test:echo',
  ans: 'urn:beamgate:profile:test:ans',
  sink: 'urn:beamgate:profile:test:sink',
  hold: 'urn:beamgate:profile:test:hold',
} as const);

export type TestProfileName = keyof typeof TEST_PROFILE_URIS;

export interface AnsProfileOptions {
  /** Largest N accepted in `N,SIZE` (more is refused with 501). Default 1000000. */
  maxCount?: number;
  /** Largest SIZE accepted (octets). Default 16 MiB. */
  maxSize?: number;
}

/** RPY with the same entity (MIME headers and body) as the MSG. */
export function echoProfile(): ProfileDefinition {
  return {
    uri: TEST_PROFILE_URIS.echo,
    onStart: (info) =>
      info.content === undefined
        ? true
        : { content: info.encoding === 'base64' ? info.content : info.content.toString('utf8'), encoding: info.encoding },
    onMessage(msg, reply) {
      reply.rpy(msg.raw, { raw: true });
    },
  };
}

/** Body `N,SIZE`: N answers of SIZE octets (a repeating `a`..`z` pattern), then NUL. Bad bodies get ERR 501. */
export function ansProfile(opts: AnsProfileOptions = {}): ProfileDefinition {
  const maxCount = opts.maxCount ?? 1_000_000;
  const maxSize = opts.maxSize ?? 16 * 1024 * 1024;
  return {
    uri: TEST_PROFILE_URIS.ans,
    async onMessage(msg, reply) {
      const m = /^\s*(\d{1,10})\s*,\s*(\d{1,10})\s*$/.exec(msg.text());
      const count = m ? Number(m[1]) : NaN;
      const size = m ? Number(m[2]) : NaN;
      if (!(count <= maxCount && size <= maxSize)) {
        reply.err(501, `expected "N,SIZE" with N <= ${maxCount} and SIZE <= ${maxSize}`);
        return;
      }
      const body = Buffer.alloc(size, 'abcdefghijklmnopqrstuvwxyz', 'latin1');
      for (let i = 0; i < count; i++) await reply.ans(body);
      reply.nul();
    },
  };
}

/** An empty RPY for every MSG, of any size: MSGs are read as streams and thrown away (no reassembly cap). */
export function sinkProfile(): ProfileDefinition {
  return {
    uri: TEST_PROFILE_URIS.sink,
    streaming: true,
    onMessage(msg, reply) {
      const stream = msg.stream;
      if (stream === undefined) return reply.rpy();
      stream.on('error', () => undefined); // the session ended: nothing to answer
      stream.on('end', () => reply.rpy());
      stream.resume();
    },
  };
}

/** Never replies: the MSG stays unanswered (its msgno in use) until the channel or the session ends. */
export function holdProfile(): ProfileDefinition {
  return { uri: TEST_PROFILE_URIS.hold, onMessage: () => undefined };
}

/** The named test profiles (default: all four). */
export function testProfiles(names: readonly TestProfileName[] = ['echo', 'ans', 'sink', 'hold']): ProfileDefinition[] {
  const make: Record<TestProfileName, () => ProfileDefinition> = {
    echo: echoProfile,
    ans: ansProfile,
    sink: sinkProfile,
    hold: holdProfile,
  };
  return [...new Set(names)].map((n) => make[n]());
}

/** `echo` / `ans` / `sink` become their URIs; anything else is taken as a URI already. */
export function testProfileUri(nameOrUri: string): string {
  return (TEST_PROFILE_URIS as Record<string, string>)[nameOrUri] ?? nameOrUri;
}
