/**
 * One response, or the error that ended it, as an `AttemptOutcome`, apart from the signing and
 * retry code: the body read within its limit (an error body never past 64 KiB), JSON or the HTML a
 * proxy or a followed redirect serves instead, and a thrown undici error classified (timeout, proxy
 * tunnel, network) keeping only its message and code.
 */
import type { Dispatcher } from 'undici';
import { parseRetryAfterMs } from '@devo-collector/common';
import { BodyBuffer } from './body-buffer.js';
import { ProxyTunnelError } from './dispatcher.js';
import type { AttemptOutcome } from './outcome.js';
import { splitRecords, type RecordsOptions } from './records.js';

/** Error bodies only feed messages; never buffer more than this of them. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

/** Reads `res` to its end (or its limit); `each`: split an array answer into records (`getRecords`). */
export async function responseOutcome(res: Dispatcher.ResponseData, maxBytes: number, now: () => Date, each?: RecordsOptions<unknown>): Promise<AttemptOutcome> {
  const status = res.statusCode;
  const ok = status >= 200 && status < 300;
  const contentType = headerValue(res.headers['content-type']) ?? '';
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
  if (ok && !cut && each) {
    const records = splitRecords(status, contentType, body, each);
    if (records) return records;
    // Not a plain array (or not valid JSON): the text path below decides, with its messages.
  }
  const text = body.bytes().toString('utf8');
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
  return parseJsonBody(status, contentType, text);
}

/** Destroying an undici body emits 'error' (AbortError); without a listener that would crash the process. */
function discard(body: { on(event: 'error', fn: () => void): unknown; destroy(): unknown }): void {
  body.on('error', () => {});
  body.destroy();
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
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

/** `via`: the proxy's name in timeout and network messages, so a silent proxy is not taken for a silent appliance. */
export function failureFrom(err: unknown, status: number | null, caller: AbortSignal | undefined, timeout: AbortSignal, timeoutMs: number, via: string): AttemptOutcome {
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
