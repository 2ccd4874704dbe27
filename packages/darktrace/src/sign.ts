/**
 * Request signing for the Darktrace Threat Visualizer API (reference §1.1).
 *
 *   signature = lowercase hex HMAC-SHA1(key = private token, `${pathAndQuery}\n${publicToken}\n${date}`)
 *
 * The appliance verifies the signature over the path+query it received (the guide and the lab probe:
 * as sent, and with the query values decoded, which is how the Python SDK signs), so we sign exactly
 * the string we send. To make "raw" and "percent-encoded" forms identical (peers disagree on which
 * one to sign, §1.1 "Encoding"), every key and value must stay within the URL-unreserved set.
 */
import { createHmac } from 'node:crypto';

export type QueryValue = string | number | boolean;

const UNRESERVED = /^[A-Za-z0-9._~-]+$/;
const PATH = /^\/[A-Za-z0-9._~/-]*$/;

export function signRequest(pathAndQuery: string, publicToken: string, privateToken: string, date: string): string {
  return createHmac('sha1', privateToken).update(`${pathAndQuery}\n${publicToken}\n${date}`, 'utf8').digest('hex');
}

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** Compact UTC `YYYYMMDDTHHMMSS`, the form the reference recommends (no space or colon to mangle). */
export function formatDtapiDate(d: Date): string {
  return (
    `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}` +
    `T${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`
  );
}

/**
 * `/endpoint?k1=v1&k2=v2` with keys in insertion order (order only has to match between the
 * signed and the sent string; we build one string and use it for both). Throws on anything that
 * would need percent-encoding, rather than guessing which form the appliance signs.
 */
export function buildPathAndQuery(endpoint: string, query?: Record<string, QueryValue>): string {
  if (!PATH.test(endpoint)) {
    throw new TypeError(`Invalid Darktrace endpoint ${JSON.stringify(endpoint)}: must start with '/' and use only [A-Za-z0-9._~/-]`);
  }
  if (!query) return endpoint;
  const parts: string[] = [];
  for (const [key, raw] of Object.entries(query)) {
    if (typeof raw === 'number' && !Number.isFinite(raw)) {
      throw new TypeError(`Invalid value for query parameter ${key}: ${String(raw)}`);
    }
    const value = String(raw); // booleans become lowercase 'true'/'false' (reference §1.1 "Booleans")
    if (!UNRESERVED.test(key)) throw new TypeError(`Invalid query parameter name ${JSON.stringify(key)}`);
    if (!UNRESERVED.test(value)) {
      throw new TypeError(`Invalid value for query parameter ${key}: ${JSON.stringify(value)} (only [A-Za-z0-9._~-] allowed)`);
    }
    parts.push(`${key}=${value}`);
  }
  return parts.length ? `${endpoint}?${parts.join('&')}` : endpoint;
}
