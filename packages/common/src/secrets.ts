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

export function redact(text: string): string {
  if (secrets.size === 0) return text;
  let out = text;
  for (const s of secrets) if (out.includes(s)) out = out.split(s).join(SECRET_MASK);
  return out;
}

/** Keys whose values are always masked when a config object is logged. */
const SECRET_KEYS = new Set(['public_token', 'private_token', 'publicToken', 'privateToken', 'keyPem', 'password']);

export function maskConfig<T>(value: T): T {
  if (Array.isArray(value)) return value.map((v) => maskConfig(v)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
      out[k] = SECRET_KEYS.has(k) && typeof v === 'string' ? SECRET_MASK : maskConfig(v);
    }
    return out as T;
  }
  return value;
}
