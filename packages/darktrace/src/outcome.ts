/**
 * What one HTTP attempt produced, before any retry or error mapping. Keeping this a plain union
 * lets the retry decision and the SetupError/PullError mapping be pure, table-tested functions.
 */
export type FailureReason =
  | 'network' | 'timeout' | 'invalid-body' | 'html' | 'oversize' | 'aborted'
  /** The proxy's CONNECT: 407, another refusal (`proxyStatus`), or the proxy not reachable. */
  | 'proxy-auth' | 'proxy-refused' | 'proxy-unreachable';

export type AttemptOutcome =
  | { kind: 'ok'; status: number; body: unknown }
  /** A non-2xx status (redirects included: we never follow them). */
  | { kind: 'http'; status: number; bodyText: string; location?: string; retryAfterMs?: number }
  /** Anything that is not a usable JSON answer with an HTTP status we could judge. */
  | { kind: 'failure'; reason: FailureReason; message: string; status: number | null; bodyText?: string; proxyStatus?: number };

export type AuthProblem = 'signature' | 'date' | 'permission' | 'login';

/** Darktrace error bodies are `{"response": "API SIGNATURE ERROR"}`-like; test every value (reference §5). */
function bodyHas(bodyText: string, needle: string): boolean {
  try {
    const parsed: unknown = JSON.parse(bodyText);
    if (parsed && typeof parsed === 'object') return Object.values(parsed).some((v) => v === needle);
  } catch {
    // not JSON: fall through to a plain text search
  }
  return bodyText.includes(needle);
}

const LOGIN_TITLE = /<title>\s*Log In \| Darktrace\s*<\/title>/i;

export function authProblem(o: AttemptOutcome): AuthProblem | null {
  if (o.kind === 'http') {
    if (o.status === 400 && bodyHas(o.bodyText, 'API DATE ERROR')) return 'date';
    if (o.status === 400 && bodyHas(o.bodyText, 'API SIGNATURE ERROR')) return 'signature';
    if (o.status === 401) return 'signature';
    if (o.status === 403) return 'permission';
    if (o.status >= 300 && o.status < 400) {
      // "Found. Redirecting to /login" = valid HMAC, unknown endpoint; "/403" = missing permission.
      return /\/login\b/.test(o.location ?? o.bodyText) ? 'login' : 'permission';
    }
  }
  if (o.kind === 'failure' && o.reason === 'html' && o.bodyText !== undefined && LOGIN_TITLE.test(o.bodyText)) {
    return 'login';
  }
  return null;
}

/** The one place that decides whether an attempt is worth repeating. */
export function isRetryable(o: AttemptOutcome): boolean {
  switch (o.kind) {
    case 'ok':
      return false;
    case 'http':
      // Auth answers (400 SIGNATURE/DATE, 302, 401, 403) and other 4xx will not change on retry.
      return o.status === 429 || o.status === 408 || o.status >= 500;
    case 'failure':
      // An oversize body would be oversize again; an abort is the caller's decision. A proxy that
      // wants other credentials or forbids the tunnel says so again; a 5xx (it could not reach
      // the appliance) or an unreachable proxy may pass.
      if (o.reason === 'proxy-auth') return false;
      if (o.reason === 'proxy-refused') return (o.proxyStatus ?? 0) >= 500;
      return o.reason !== 'oversize' && o.reason !== 'aborted';
  }
}
