/**
 * The signed, rate-limited, retrying Darktrace API client. One `attempt` = one signed request with
 * a fresh DTAPI-Date; its result is an `AttemptOutcome`, which pure functions turn into a retry
 * decision (outcome.ts) and, once we give up, into a documented error (error-map.ts). The retry
 * loop is ours, not undici's RetryAgent: that one re-sends the same headers, and a re-sent request
 * needs a fresh DTAPI-Date and signature. Its waits come from common's retryDelayMs (Retry-After first).
 * How a response becomes an outcome is response-outcome.ts; an array answer's records, records.ts.
 */
import { request } from 'undici';
import { PullError, SetupError, registerSecret, retryDelayMs, sleep, type ProxyConfig } from '@devo-collector/common';
import { createApplianceDispatcher } from './dispatcher.js';
import { toPullError, toSetupError, type ErrorContext } from './error-map.js';
import { isRetryable, type AttemptOutcome } from './outcome.js';
import { createRateLimiter, type LimitSpec, type RateLimiterOptions } from './rate-limiter.js';
import { MappedRecords, type RecordsAnswer, type RecordsOptions } from './records.js';
import { failureFrom, responseOutcome } from './response-outcome.js';
import { buildPathAndQuery, formatDtapiDate, signRequest, type QueryValue } from './sign.js';

export interface DarktraceClientOptions {
  baseUrl: string;
  publicToken: string;
  privateToken: string;
  caPem?: string | null;
  tlsVerify?: boolean;
  /** Compiled proxy settings; null/absent: direct (NO_PROXY is applied to `baseUrl`). */
  proxy?: ProxyConfig | null;
  requestTimeoutMs?: number;
  maxResponseBytes?: number;
  requestsPerSecond?: number;
  /**
   * `requests_limits`: windows every request counts in (`shared`) and windows of the requests to
   * one endpoint path (`byEndpoint`, a service's limits). Setup requests count like any other.
   */
  requestsLimits?: { shared: readonly LimitSpec[]; byEndpoint: Readonly<Record<string, readonly LimitSpec[]>> };
  onLimitReached?: RateLimiterOptions['onLimitReached'];
  maxRetries?: number;
  /** Base of the exponential backoff (default 500 ms); lowered by tests. */
  retryBaseDelayMs?: number;
  /** Cap of the exponential backoff (default 30 s). */
  retryMaxDelayMs?: number;
  userAgent?: string;
  onRequest?: (info: { endpoint: string; status: number | null; durationMs: number }) => void;
  now?: () => Date;
}

export interface DarktraceClient {
  get(endpoint: string, query?: Record<string, QueryValue>, opts?: { signal?: AbortSignal }): Promise<unknown>;
  /**
   * Like `get`, for endpoints that answer a JSON array: each element is handed to `each` with its
   * parsed value and its raw text from the body (`compact`: no whitespace outside strings), so a
   * caller can forward the appliance's own bytes instead of re-stringifying. Same retries and
   * errors as `get` (an invalid body is PullError 301 with the same message).
   */
  getRecords<T>(endpoint: string, query: Record<string, QueryValue> | undefined, opts: RecordsOptions<T>): Promise<RecordsAnswer<T>>;
  checkCredentials(endpoint: string, query?: Record<string, QueryValue>): Promise<void>;
  close(): Promise<void>;
}

const MiB = 1024 * 1024;

export function createDarktraceClient(opts: DarktraceClientOptions): DarktraceClient {
  const baseUrl = opts.baseUrl.replace(/\/+$/, '');
  const { publicToken, privateToken } = opts;
  // Second line of defence: the shared logger masks these wherever they end up.
  registerSecret(publicToken);
  registerSecret(privateToken);
  const timeoutMs = opts.requestTimeoutMs ?? 30_000;
  const maxBytes = opts.maxResponseBytes ?? 256 * MiB;
  const maxRetries = opts.maxRetries ?? 4;
  const backoff = { baseMs: opts.retryBaseDelayMs ?? 500, capMs: opts.retryMaxDelayMs ?? 30_000 };
  const userAgent = opts.userAgent ?? 'devo-collector-darktrace/1.0.0';
  const now = opts.now ?? (() => new Date());
  const limiter = createRateLimiter({
    requestsPerSecond: opts.requestsPerSecond ?? 10,
    shared: opts.requestsLimits?.shared ?? [],
    byScope: opts.requestsLimits?.byEndpoint ?? {},
    ...(opts.onLimitReached ? { onLimitReached: opts.onLimitReached } : {}),
  });
  const { dispatcher: agent, route } = createApplianceDispatcher({
    baseUrl,
    caPem: opts.caPem ?? null,
    tlsVerify: opts.tlsVerify ?? true,
    timeoutMs,
    proxy: opts.proxy ?? null,
  });
  let closed = false;
  // Named in timeout and network messages, so a silent proxy is not mistaken for a silent appliance.
  const via = route.via === 'proxy' ? ` through the proxy ${route.display.replace(/^http:\/\//, '')}` : '';

  const secrets = [publicToken, privateToken].filter((s) => s.length >= 4);
  const scrub = (text: string): string => secrets.reduce((t, s) => t.split(s).join('****'), text);
  const errorContext = (endpoint: string, attempts: number): ErrorContext => ({ endpoint, scrub, now: now(), attempts });

  async function attempt(endpoint: string, pathAndQuery: string, signal?: AbortSignal, each?: RecordsOptions<unknown>): Promise<AttemptOutcome> {
    const date = formatDtapiDate(now()); // one date per request, used for header and signature alike
    const headers = {
      'DTAPI-Token': publicToken,
      'DTAPI-Date': date,
      'DTAPI-Signature': signRequest(pathAndQuery, publicToken, privateToken, date),
      'User-Agent': userAgent,
      Accept: 'application/json',
    };
    // One deadline for connect + headers + body; the caller's signal can end it sooner.
    const timeout = AbortSignal.timeout(timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const started = performance.now();
    let status: number | null = null;
    try {
      const res = await request(`${baseUrl}${pathAndQuery}`, { dispatcher: agent, method: 'GET', headers, signal: combined });
      status = res.statusCode;
      return await responseOutcome(res, maxBytes, now, each);
    } catch (err) {
      return failureFrom(err, status, signal, timeout, timeoutMs, via);
    } finally {
      opts.onRequest?.({ endpoint, status, durationMs: performance.now() - started });
    }
  }

  async function getRecords<T>(endpoint: string, query: Record<string, QueryValue> | undefined, o: RecordsOptions<T>): Promise<RecordsAnswer<T>> {
    const body = await pull(endpoint, query, o.signal, o as RecordsOptions<unknown>);
    return body instanceof MappedRecords ? { records: body.records as T[], release: body.release } : { body };
  }

  async function pull(endpoint: string, query: Record<string, QueryValue> | undefined, signal?: AbortSignal, each?: RecordsOptions<unknown>): Promise<unknown> {
    const pathAndQuery = buildPathAndQuery(endpoint, query);
    for (let n = 0; ; n++) {
      if (closed) throw new PullError(301, 'Some error occurred while retrieving events from Darktrace server. Error details: the client is closed');
      const release = await limiter.acquire(endpoint, signal).catch(() => {
        throw aborted(endpoint);
      });
      const outcome = await attempt(endpoint, pathAndQuery, signal, each).finally(release);
      if (outcome.kind === 'ok') return outcome.body;
      if (n >= maxRetries || !isRetryable(outcome)) throw toPullError(outcome, errorContext(endpoint, n + 1));
      await sleep(retryDelayMs(n, backoff, outcome.kind === 'http' ? outcome.retryAfterMs : null), signal);
      if (signal?.aborted) throw aborted(endpoint);
    }
  }

  async function checkCredentials(endpoint: string, query?: Record<string, QueryValue>): Promise<void> {
    const pathAndQuery = buildPathAndQuery(endpoint, query);
    if (closed) throw new SetupError(100, 'Error occurred while requesting from the Darktrace server. Error message: the client is closed');
    const release = await limiter.acquire(endpoint);
    // A single request on purpose: setup reports what the appliance says, the caller decides to retry.
    const outcome = await attempt(endpoint, pathAndQuery).finally(release);
    if (outcome.kind !== 'ok') throw toSetupError(outcome, errorContext(endpoint, 1));
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    await agent.close();
  }

  return { get: (endpoint, query, o) => pull(endpoint, query, o?.signal), getRecords, checkCredentials, close };
}

function aborted(endpoint: string): PullError {
  return new PullError(301, `Some error occurred while retrieving events from Darktrace server. Error details: request aborted on ${endpoint}`);
}
