/**
 * The undici dispatcher towards one appliance: a plain Agent, or undici's ProxyAgent when the
 * compiled proxy config routes the appliance through a proxy. Every request then opens a CONNECT
 * tunnel (http and https appliances alike, one path); `ca_file` / `tls_verify` apply to the
 * appliance's TLS inside the tunnel. The proxy's credentials travel only as the
 * Proxy-Authorization header: the URL given to undici has none, so no undici error can show them.
 */
import { rootCertificates } from 'node:tls';
import { Agent, Pool, ProxyAgent, type Dispatcher } from 'undici';
import { proxyRoute, type ProxyConfig, type ProxyRoute } from '@devo-collector/common';

interface DispatcherOptions {
  baseUrl: string;
  caPem?: string | null;
  tlsVerify?: boolean;
  timeoutMs: number;
  proxy?: ProxyConfig | null;
}

type ProxyProblem = 'auth' | 'refused' | 'unreachable';

/**
 * A CONNECT that did not give a tunnel: the proxy answered something else than 200 (`status`),
 * or could not be reached at all. Raised by our proxy client so the error map sees a typed cause
 * instead of parsing undici's message. Its code is not UND_ERR_SOCKET, so undici fails the queued
 * requests with it rather than retrying.
 */
export class ProxyTunnelError extends Error {
  readonly code = 'DT_PROXY_TUNNEL';
  constructor(
    readonly problem: ProxyProblem,
    /** `host:port` of the proxy, no credentials. */
    readonly proxy: string,
    readonly status: number | null,
    detail: string,
  ) {
    super(detail);
    this.name = 'ProxyTunnelError';
  }
}

type ConnectCallback = (err: Error | null, data: Dispatcher.ConnectData) => void;

/** The proxy side of a ProxyAgent: a Pool whose CONNECT answers become ProxyTunnelErrors. */
class TunnelPool extends Pool {
  constructor(
    origin: URL,
    opts: Pool.Options,
    private readonly proxyHost: string,
  ) {
    super(origin, opts);
  }

  // ProxyAgent uses the promise form; the callback form is left as undici wrote it.
  override connect(options: Dispatcher.ConnectOptions, callback: ConnectCallback): void;
  override connect(options: Dispatcher.ConnectOptions): Promise<Dispatcher.ConnectData>;
  override connect(options: Dispatcher.ConnectOptions, callback?: ConnectCallback): void | Promise<Dispatcher.ConnectData> {
    if (callback) return super.connect(options, callback);
    const target = options.path;
    return super.connect(options).then(
      (data) => {
        if (data.statusCode === 200) return data;
        data.socket.on('error', () => {}).destroy();
        // 407 is the standard answer; tinyproxy answers wrong credentials with 401.
        const problem: ProxyProblem = data.statusCode === 407 || data.statusCode === 401 ? 'auth' : 'refused';
        throw new ProxyTunnelError(problem, this.proxyHost, data.statusCode, `the proxy ${this.proxyHost} answered ${data.statusCode} to CONNECT ${target}`);
      },
      (err: unknown) => {
        const code = (err as { code?: unknown } | null)?.code;
        const msg = err instanceof Error ? err.message : String(err);
        const what = code === 'UND_ERR_HEADERS_TIMEOUT' ? `did not answer CONNECT ${target}` : 'cannot be reached';
        throw new ProxyTunnelError('unreachable', this.proxyHost, null, `the proxy ${this.proxyHost} ${what} (${typeof code === 'string' ? `${code}: ` : ''}${msg})`);
      },
    );
  }
}

interface ApplianceDispatcher {
  dispatcher: Dispatcher;
  route: ProxyRoute;
}

export function createApplianceDispatcher(opts: DispatcherOptions): ApplianceDispatcher {
  const tls = {
    // `ca` replaces Node's trust store, so keep the public roots and add the appliance CA.
    ...(opts.caPem ? { ca: [...rootCertificates, opts.caPem] } : {}),
    rejectUnauthorized: opts.tlsVerify ?? true,
    timeout: opts.timeoutMs,
  };
  const timeouts = { headersTimeout: opts.timeoutMs, bodyTimeout: opts.timeoutMs };
  const route = proxyRoute(opts.proxy ?? null, opts.baseUrl);
  if (route.via === 'direct') return { route, dispatcher: new Agent({ connect: tls, ...timeouts }) };

  const u = new URL(route.url);
  const user = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  const host = u.host;
  const dispatcher = new ProxyAgent({
    uri: `${u.protocol}//${host}`,
    ...(user ? { token: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` } : {}),
    requestTls: tls,
    proxyTls: { timeout: opts.timeoutMs },
    // A request waiting for its tunnel ignores its abort signal until the CONNECT settles, so the
    // CONNECT itself must be bounded: a proxy that accepts and never answers is 106, not a hang.
    clientFactory: (origin: URL, o: object) => new TunnelPool(origin, { ...(o as Pool.Options), ...timeouts }, host),
    ...timeouts,
  });
  return { route, dispatcher };
}
