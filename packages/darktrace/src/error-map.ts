/**
 * Maps a final attempt outcome to the vendor's documented errors (troubleshooting table of
 * darktrace-collector-doc): SetupError 100-103 for the credential check, PullError 300/301 for pulls;
 * ours for a proxy that refuses the tunnel: SetupError 104-106 / PullError 302-304 (docs/errors.md).
 * Every text goes through `scrub` so that a token can never leak, even if a server echoed one.
 */
import { PullError, ResponseTooLargeError, SetupError, TransientSetupError } from '@devo-collector/common';
import { authProblem, isRetryable, type AttemptOutcome } from './outcome.js';

export interface ErrorContext {
  endpoint: string;
  /** Replaces secrets in any text we did not write ourselves. */
  scrub: (text: string) => string;
  /** Local clock, shown in the API DATE ERROR hint. */
  now: Date;
  attempts: number;
}

const SNIPPET_CHARS = 200;

function snippet(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > SNIPPET_CHARS ? `${oneLine.slice(0, SNIPPET_CHARS)}...` : oneLine;
}

function clockHint(ctx: ErrorContext): string {
  return (
    `API DATE ERROR: the clock of this machine (${ctx.now.toISOString()}) is off by more than 30 minutes ` +
    'vs the Darktrace appliance; synchronise this machine (NTP) with the appliance'
  );
}

function describe(o: AttemptOutcome, ctx: ErrorContext): string {
  switch (o.kind) {
    case 'ok':
      return `unexpected success status ${o.status} on ${ctx.endpoint}`;
    case 'http': {
      const where = o.location ? ` (redirect to ${o.location})` : '';
      return `status ${o.status} on ${ctx.endpoint}${where}: ${snippet(o.bodyText)}`;
    }
    case 'failure':
      return `${o.message} on ${ctx.endpoint}`;
  }
}

/** Proxy failures, the same three for setup and pulls: [setup id, pull id, summary]. */
const PROXY_ERRORS = {
  'proxy-auth': [104, 302, 'Proxy authentication failed'],
  'proxy-refused': [105, 303, 'The proxy refused the connection'],
  'proxy-unreachable': [106, 304, 'The proxy is unreachable'],
} as const;

type ProxyReason = keyof typeof PROXY_ERRORS;

function proxyReason(o: AttemptOutcome): ProxyReason | null {
  return o.kind === 'failure' && o.reason in PROXY_ERRORS ? (o.reason as ProxyReason) : null;
}

const PROXY_HINT: Record<ProxyReason, string> = {
  'proxy-auth': 'check the proxy user and password (inputs.darktrace.proxy or HTTPS_PROXY)',
  'proxy-refused': "check the proxy's rules for the appliance's host and port",
  'proxy-unreachable': 'check the proxy address and that the proxy is running',
};

/**
 * What another try can fix soon (network, timeout, cut connection, 408, 429, 5xx: `isRetryable`)
 * comes back as a TransientSetupError carrying the appliance's Retry-After; tokens, permissions and
 * other HTTP statuses as a plain SetupError (the setup waits its long period for those).
 */
export function toSetupError(o: AttemptOutcome, ctx: ErrorContext): SetupError {
  const e = ctx.scrub(describe(o, ctx));
  switch (authProblem(o)) {
    case 'date':
      return new SetupError(101, ctx.scrub(`The tokens provided are incorrect. Please specify the correct credentials. Error message ${clockHint(ctx)}`));
    case 'signature':
      return new SetupError(101, `The tokens provided are incorrect. Please specify the correct credentials. Error message ${e}`);
    case 'permission':
    case 'login':
      return new SetupError(102, `The provided tokens are valid but they do not have the permission to get data: Error message ${e}`);
    case null:
      break;
  }
  const transient = isRetryable(o);
  const retryAfterMs = o.kind === 'http' ? (o.retryAfterMs ?? null) : null;
  const make = (code: number, detail: string): SetupError =>
    transient ? new TransientSetupError(code, detail, retryAfterMs) : new SetupError(code, detail);
  const proxy = proxyReason(o);
  if (proxy) {
    // 106 and a proxy's 5xx are transient (isRetryable); 104 and a 403 wait the long period.
    const [id, , summary] = PROXY_ERRORS[proxy];
    return make(id, `${summary}: ${e}; ${PROXY_HINT[proxy]}`);
  }
  if (o.kind === 'http') {
    return make(103, `Unexpected HTTP error occurred at the Darktrace server. status code, ${o.status} error: ${e}`);
  }
  return make(100, `Error occurred while requesting from the Darktrace server. Error message: ${e}`);
}

export function toPullError(o: AttemptOutcome, ctx: ErrorContext): PullError {
  const after = ctx.attempts > 1 ? ` after ${ctx.attempts} attempts` : '';
  if (o.kind === 'http') {
    const problem = authProblem(o);
    const summary = ctx.scrub(`HTTP ${o.status} from ${ctx.endpoint}${after}`);
    let details = ctx.scrub(describe(o, ctx));
    if (problem === 'date') details = ctx.scrub(clockHint(ctx));
    else if (problem === 'signature') details = `${details} (the tokens are incorrect)`;
    else if (problem === 'permission' || problem === 'login') details = `${details} (the tokens lack permission for this endpoint)`;
    // A 429/503 with Retry-After: the puller's next try of the window waits what the appliance asked.
    return new PullError(300, `HTTP Error occurred while retrieving events from Darktrace server: summary ${summary} details ${details}`, o.retryAfterMs ?? null);
  }
  const proxy = proxyReason(o);
  if (proxy) {
    const [, id, summary] = PROXY_ERRORS[proxy];
    return new PullError(id, `${summary} while retrieving events from Darktrace server: ${ctx.scrub(describe(o, ctx))}${after}; ${PROXY_HINT[proxy]}`);
  }
  const message = `Some error occurred while retrieving events from Darktrace server. Error details: ${ctx.scrub(describe(o, ctx))}${after}`;
  // Typed so that a time-slot puller can split the window instead of asking the same again.
  if (o.kind === 'failure' && o.reason === 'oversize') return new ResponseTooLargeError(301, message);
  return new PullError(301, message);
}
