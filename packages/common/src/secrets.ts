/**
 * Secret redaction. Every secret value the process learns (tokens, key material) is registered here
 * and replaced by a mask in every log line, whatever path it took to get there. This is a second
 * line of defence: code should never log a secret in the first place.
 */
export const SECRET_MASK = '****SANITIZED****';

const secrets = new Set<string>();

export function registerSecret(value: unknown): void {
  // Very short values would mask ordinary words; tokens are long in practice.
  if (typeof value === 'string' && value.length >= 4) secrets.add(value);
}

/** `scheme://user:password@host` -> `scheme://****@host`, in any text (a proxy URL, a bad value). */
export function maskUrlUserinfo(text: string): string {
  return text.includes('@') ? text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/\s@"']*@/gi, '$1****@') : text;
}

export function redact(text: string): string {
  // Credentials inside URLs (a proxy's user:password) are masked whether registered or not.
  let out = maskUrlUserinfo(text);
  if (secrets.size === 0) return out;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(SECRET_MASK);
  return out;
}

/** Keys whose values are always masked when a config object is logged. */
const SECRET_KEYS = new Set(['public_token', 'private_token', 'publicToken', 'privateToken', 'keyPem', 'password']);

/** Keys whose values are URLs that may carry `user:password@` (the proxy). */
const URL_KEYS = new Set(['httpsProxy', 'httpProxy', 'proxy']);

export function maskConfig<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => maskConfig(v)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      if (typeof v === 'string') out[k] = SECRET_KEYS.has(k) ? SECRET_MASK : URL_KEYS.has(k) ? maskUrlUserinfo(v) : v;
      else out[k] = maskConfig(v);
    }
    return out as T;
  }
  return value;
}
