/**
 * Request authentication as the appliance does it (reference §1, §5): the public token must be
 * known, the signature must match the exact received path+query, and DTAPI-Date must be within
 * ±30 min of the appliance clock. Failures answer 400 with a JSON body of the documented texts.
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
  const expected = Buffer.from(signRequest(pathAndQuery, tokens.publicToken, tokens.privateToken, date));
  const given = Buffer.from(sig.toLowerCase());
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, response: 'API SIGNATURE ERROR' };
  const at = parseDtapiDate(date);
  if (at === null || Math.abs(at - nowMs) > MAX_SKEW_MS) return { ok: false, response: 'API DATE ERROR' };
  return { ok: true };
}
