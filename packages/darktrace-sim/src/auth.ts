/**
 * Request authentication as the appliance does it (reference §1, §5, §8): the public token must be
 * known, the signature must match the received path+query either as the bytes received or with
 * the query's values decoded (the guide: "percent-encoded when making the final request but not
 * when producing the signature"; the Python SDK signs raw values and sends them URL-encoded), and
 * DTAPI-Date must be within ±30 min of the appliance clock. Failures answer 400 with a JSON body of
 * the documented texts.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { signRequest } from '@devo-collector/darktrace';

export const MAX_SKEW_MS = 30 * 60_000;

/** Compact `YYYYMMDDTHHMMSS`, `YYYY-MM-DD HH:MM:SS`, `YYYY-MM-DDTHH:MM:SS` (optionally .ffffff and +00:00/Z); UTC. */
export function parseDtapiDate(value: string): number | null {
  const m =
    /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})$/.exec(value) ??
    /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?(?:Z|\+00:00)?$/.exec(value);
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  const back = new Date(ms);
  // Reject rollovers such as month 13 or 25:00.
  if (back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || back.getUTCHours() !== h) return null;
  return ms;
}

export type AuthResult = { ok: true } | { ok: false; response: 'API SIGNATURE ERROR' | 'API DATE ERROR' };

function header(h: IncomingHttpHeaders, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/**
 * `path?k=v&...` with each key and value percent-decoded (`+` is a space, as form encoding and
 * Python's urlencode write it), in the order received; the path itself is kept as received (the
 * lab probe: a percent-encoded path segment is signed as sent). null when there is no query, or a
 * `%` escape is malformed (then only the received bytes can match).
 */
export function decodedPathAndQuery(pathAndQuery: string): string | null {
  const q = pathAndQuery.indexOf('?');
  if (q < 0) return null;
  const decode = (s: string): string => decodeURIComponent(s.replace(/\+/g, ' '));
  try {
    const parts = pathAndQuery
      .slice(q + 1)
      .split('&')
      .map((part) => {
        const eq = part.indexOf('=');
        return eq < 0 ? decode(part) : `${decode(part.slice(0, eq))}=${decode(part.slice(eq + 1))}`;
      });
    return `${pathAndQuery.slice(0, q)}?${parts.join('&')}`;
  } catch {
    return null;
  }
}

function signatureMatches(signed: string, date: string, given: Buffer, tokens: { publicToken: string; privateToken: string }): boolean {
  const expected = Buffer.from(signRequest(signed, tokens.publicToken, tokens.privateToken, date));
  return expected.length === given.length && timingSafeEqual(expected, given);
}

export function authenticate(
  pathAndQuery: string,
  headers: IncomingHttpHeaders,
  tokens: { publicToken: string; privateToken: string },
  nowMs: number,
): AuthResult {
  const token = header(headers, 'dtapi-token');
  const date = header(headers, 'dtapi-date');
  const sig = header(headers, 'dtapi-signature');
  if (token !== tokens.publicToken || date === undefined || sig === undefined) return { ok: false, response: 'API SIGNATURE ERROR' };
  const given = Buffer.from(sig.toLowerCase());
  const decoded = decodedPathAndQuery(pathAndQuery);
  const signed =
    signatureMatches(pathAndQuery, date, given, tokens) ||
    (decoded !== null && decoded !== pathAndQuery && signatureMatches(decoded, date, given, tokens));
  if (!signed) return { ok: false, response: 'API SIGNATURE ERROR' };
  const at = parseDtapiDate(date);
  if (at === null || Math.abs(at - nowMs) > MAX_SKEW_MS) return { ok: false, response: 'API DATE ERROR' };
  return { ok: true };
}
