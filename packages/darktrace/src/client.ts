/**
 * The signed, rate-limited, retrying Darktrace API client. One `attempt` = one signed request with
 * a fresh DTAPI-Date; its result is an `AttemptOutcome`, which pure functions turn into a retry
 * decision (outcome.ts) and, once we give up, into a documented error (error-map.ts). The retry
 * loop is ours, not undici's RetryAgent: that one re-sends the same headers, and a re-sent request
 * needs a fresh DTAPI-Date and signature. Its waits come from common's retryDelayMs (Retry-After first).
 */
import { request } from 'undici';
import { PullError, SetupError, parseRetryAfterMs, registerSecret, retryDelayMs, type ProxyConfig } from '@devo-collector/common';
import { ProxyTunnelError, createApplianceDispatcher } from './dispatcher.js';
import { toPullError, toSetupError, type ErrorContext } from './error-map.js';
import { isRetryable, type AttemptOutcome } from './outcome.js';
import { createRateLimiter, sleep, type LimitSpec, type RateLimiterOptions } from './rate-limiter.js';
import { BodyBuffer } from './body-buffer.js';
import { splitJsonArray, type ElementSlice } from './json-array-split.js';
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

/**
 * Called for each element of an array answer with its raw bytes. `value` is the parsed element
 * (`complete`), or, when `fields` were given and the element is an object, an object with only
 * those of its top-level fields that are present (`complete` false).
 */
export type RecordMapper<T> = (value: unknown, raw: RawRecord, complete: boolean) => T;

/**
 * An element's own JSON in the response body. Decoded only when asked: a caller that drops the
 * element (a duplicate) never pays for it, and one that holds it ahead holds bytes off the JS heap.
 */
export class RawRecord {
  constructor(
    private readonly body: Buffer,
    private readonly start: number,
    private readonly end: number,
    /** No whitespace outside strings: the text is already compact JSON. */
    readonly compact: boolean,
  ) {}

  /** Size in bytes. */
  get size(): number {
    return this.end - this.start;
  }

  text(): string {
    return this.body.toString('utf8', this.start, this.end);
  }

  /** The bytes themselves (a view into the body, no copy). */
  bytes(): Buffer {
    return this.body.subarray(this.start, this.end);
  }
}

export interface RecordsOptions<T> {
  signal?: AbortSignal;
  /** Top-level fields the caller needs: only these are parsed (the scan validates the rest). */
  fields?: readonly string[];
  each: RecordMapper<T>;
}

/** A `getRecords` answer: the mapped elements, or the parsed body when it is not an array. */
export type RecordsAnswer<T> = { records: T[] } | { body: unknown };

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
/** Error bodies only feed messages; never buffer more than this of them. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

export function createDarktraceClient(opts: DarktraceClientOptions): DarktraceClient {
  const baseUrl = opts.baseUrl.replace(/\/+$/, '');
  const publicToken = opts.publicToken;
  const privateToken = opts.privateToken;
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
      const ok = status >= 200 && status < 300;
      const declared = Number(res.headers['content-length']);
      if (ok && Number.isFinite(declared) && declared > maxBytes) {
        discard(res.body);
        return { kind: 'failure', reason: 'oversize', status, message: `response of ${declared} bytes exceeds the limit of ${maxBytes} bytes` };
      }
      const limit = ok ? maxBytes : MAX_ERROR_BODY_BYTES;
      // With a declared length the body is copied into one buffer as it arrives: the socket's
      // chunks die young instead of all living until a concat doubles the window in memory.
      const body = new BodyBuffer(ok && Number.isFinite(declared) ? declared : -1);
      let cut = false;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        if (body.size + chunk.length > limit) {
          cut = true;
          discard(res.body);
          break;
        }
        body.push(chunk);
      }
      const bytes = body.bytes();
      if (ok && !cut && each) {
        const records = splitRecords(status, headerValue(res.headers['content-type']) ?? '', bytes, each);
        if (records) return records;
        // Not a plain array (or not valid JSON): the text path below decides, with its messages.
      }
      const text = bytes.toString('utf8');
      if (!ok) {
        const location = headerValue(res.headers['location']);
        const retryAfterMs = parseRetryAfterMs(headerValue(res.headers['retry-after']), now().getTime());
        return {
          kind: 'http',
          status,
          bodyText: text,
          ...(location !== undefined ? { location } : {}),
          ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
        };
      }
      if (cut) return { kind: 'failure', reason: 'oversize', status, message: `response exceeds the limit of ${maxBytes} bytes` };
      return parseJsonBody(status, headerValue(res.headers['content-type']) ?? '', text);
    } catch (err) {
      return failureFrom(err, status, signal, timeout, timeoutMs, via);
    } finally {
      opts.onRequest?.({ endpoint, status, durationMs: performance.now() - started });
    }
  }

  function get(endpoint: string, query?: Record<string, QueryValue>, o?: { signal?: AbortSignal }): Promise<unknown> {
    return pull(endpoint, query, o?.signal);
  }

  async function getRecords<T>(endpoint: string, query: Record<string, QueryValue> | undefined, o: RecordsOptions<T>): Promise<RecordsAnswer<T>> {
    const body = await pull(endpoint, query, o.signal, o as RecordsOptions<unknown>);
    return body instanceof MappedRecords ? { records: body.records as T[] } : { body };
  }

  async function pull(endpoint: string, query: Record<string, QueryValue> | undefined, signal?: AbortSignal, each?: RecordsOptions<unknown>): Promise<unknown> {
    const pathAndQuery = buildPathAndQuery(endpoint, query);
    for (let n = 0; ; n++) {
      if (closed) throw new PullError(301, 'Some error occurred while retrieving events from Darktrace server. Error details: the client is closed');
      let release: () => void;
      try {
        release = await limiter.acquire(endpoint, signal);
      } catch {
        throw aborted(endpoint);
      }
      const outcome = await attempt(endpoint, pathAndQuery, signal, each).finally(release);
      if (outcome.kind === 'ok') return outcome.body;
      if (n >= maxRetries || !isRetryable(outcome)) throw toPullError(outcome, errorContext(endpoint, n + 1));
      try {
        await sleep(retryDelayMs(n, backoff, outcome.kind === 'http' ? outcome.retryAfterMs : null), signal);
      } catch {
        throw aborted(endpoint);
      }
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

  return { get, getRecords, checkCredentials, close };
}

function aborted(endpoint: string): PullError {
  return new PullError(301, `Some error occurred while retrieving events from Darktrace server. Error details: request aborted on ${endpoint}`);
}

/** Destroying an undici body emits 'error' (AbortError); without a listener that would crash the process. */
function discard(body: { on(event: 'error', fn: () => void): unknown; destroy(): unknown }): void {
  body.on('error', () => {});
  body.destroy();
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** The elements of an array answer, already mapped (an `ok` outcome's body). */
class MappedRecords {
  constructor(readonly records: unknown[]) {}
}

/**
 * The fast path of `getRecords`: one scan validates the body and splits it into element texts;
 * only the requested fields are parsed (whole elements when no fields are given or a projection is
 * not possible). Null when the body is anything else: the caller then takes the text path, so
 * errors and non-array answers are exactly those of `get`.
 */
function splitRecords(status: number, contentType: string, bytes: Buffer, o: RecordsOptions<unknown>): AttemptOutcome | null {
  if (status === 204 || /text\/html/i.test(contentType)) return null;
  const fields = o.fields ?? [];
  const slices = splitJsonArray(bytes, fields);
  if (!slices) return null;
  const records: unknown[] = new Array(slices.length);
  try {
    for (let i = 0; i < slices.length; i++) {
      const s = slices[i] as ElementSlice;
      const raw = new RawRecord(bytes, s.start, s.end, s.compact);
      if (o.fields && s.fields) {
        const projection: Record<string, unknown> = {};
        for (let f = 0; f < fields.length; f++) {
          const at = s.fields[f];
          if (at) projection[fields[f] as string] = JSON.parse(bytes.toString('utf8', at[0], at[1]));
        }
        records[i] = o.each(projection, raw, false);
      } else {
        records[i] = o.each(JSON.parse(raw.text()), raw, true);
      }
    }
  } catch {
    return null; // the scan accepted what JSON.parse refuses: let JSON.parse of the body decide
  }
  return { kind: 'ok', status, body: new MappedRecords(records) };
}

function parseJsonBody(status: number, contentType: string, text: string): AttemptOutcome {
  if (status === 204) return { kind: 'ok', status, body: null };
  // A proxy or a followed redirect yields the HTML login page with a 200 (reference §5).
  if (/text\/html/i.test(contentType) || /^\s*</.test(text)) {
    return { kind: 'failure', reason: 'html', status, bodyText: text.slice(0, 4096), message: `received HTML instead of JSON (status ${status}, content-type ${contentType || 'none'})` };
  }
  try {
    return { kind: 'ok', status, body: JSON.parse(text) as unknown };
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return { kind: 'failure', reason: 'invalid-body', status, message: `invalid or truncated JSON body of ${Buffer.byteLength(text)} bytes (${why})` };
  }
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

const PROXY_REASON = { auth: 'proxy-auth', refused: 'proxy-refused', unreachable: 'proxy-unreachable' } as const;

function proxyCause(err: unknown): ProxyTunnelError | null {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof ProxyTunnelError) return e;
  }
  return null;
}

function failureFrom(err: unknown, status: number | null, caller: AbortSignal | undefined, timeout: AbortSignal, timeoutMs: number, via: string): AttemptOutcome {
  if (caller?.aborted) return { kind: 'failure', reason: 'aborted', status, message: 'request aborted' };
  const proxy = proxyCause(err);
  if (proxy) {
    return { kind: 'failure', reason: PROXY_REASON[proxy.problem], status, message: proxy.message, ...(proxy.status !== null ? { proxyStatus: proxy.status } : {}) };
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (timeout.aborted || (typeof code === 'string' && TIMEOUT_CODES.has(code))) {
    return { kind: 'failure', reason: 'timeout', status, message: `request timed out after ${timeoutMs} ms${via}` };
  }
  // Only the message and code: undici error objects are never attached, so nothing else can leak.
  const msg = err instanceof Error ? err.message : String(err);
  const cause = (err as { cause?: { message?: string } } | null)?.cause?.message;
  return { kind: 'failure', reason: 'network', status, message: `${typeof code === 'string' ? `${code}: ` : ''}${msg}${cause ? ` (${cause})` : ''}${via}` };
}
