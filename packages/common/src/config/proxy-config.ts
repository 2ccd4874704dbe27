/**
 * The forward proxy towards the appliance: `inputs.darktrace.proxy`, or, when that key is not set,
 * the standard proxy environment read the way curl reads it (lowercase name first, then uppercase;
 * an empty value counts as unset). Only `http://` proxies (CONNECT tunnels to the appliance);
 * optional `user:password` in the URL. Problems are InitVariablesError(69), whose message never
 * shows the password. The environment is captured by the supervisor at compile time: workers
 * never read process.env.
 */
import { BlockList, isIP } from 'node:net';
import { fail } from './checks.js';
import { maskUrlUserinfo } from '../secrets.js';
import type { ProxyConfig } from './types.js';

export type ProxyEnvironment = Readonly<Record<string, string | undefined>>;

/** curl's default proxy port when the URL gives none. */
const CURL_DEFAULT_PROXY_PORT = 1080;

/** `http://user:pass@host:port/` -> `http://host:port`, for anything a person reads. */
export function proxyDisplay(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return maskUrlUserinfo(url);
  }
}

/** The decoded and raw password of a proxy URL (to register as secrets), or none. */
export function proxySecrets(url: string | null): string[] {
  if (!url) return [];
  try {
    const u = new URL(url);
    if (!u.password) return [];
    return [...new Set([u.password, decodeURIComponent(u.password), `${u.username}:${u.password}`])];
  } catch {
    return [];
  }
}

/**
 * Parses one proxy URL. `where` names its origin in the error (the config key or the variable).
 * A value without a scheme is taken as http:// (curl does the same).
 */
export function parseProxyUrl(value: string, where: string): string {
  const text = value.trim();
  const shown = JSON.stringify(maskUrlUserinfo(text.includes('://') ? text : `http://${text}`));
  let url: URL;
  try {
    url = new URL(text.includes('://') ? text : `http://${text}`);
  } catch {
    fail(69, `${where} must be an http:// proxy URL (http://[user:password@]host:port), got ${shown}`);
  }
  if (url.protocol !== 'http:') {
    fail(69, `${where} must be an http:// proxy URL (http://[user:password@]host:port); ${url.protocol.replace(/:$/, '')} proxies are not supported, got ${shown}`);
  }
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    fail(69, `${where} must be an http:// proxy URL without path or query, got ${shown}`);
  }
  if (!url.hostname) fail(69, `${where} must name the proxy host, got ${shown}`);
  if (url.password && !url.username) fail(69, `${where} has a password but no user, got ${shown}`);
  const port = url.port || String(CURL_DEFAULT_PROXY_PORT);
  const userinfo = url.username ? `${url.username}${url.password ? `:${url.password}` : ''}@` : '';
  return `http://${userinfo}${url.hostname}:${port}`;
}

function firstSet(env: ProxyEnvironment, names: string[]): { name: string; value: string } | null {
  for (const name of names) {
    const v = env[name];
    if (v !== undefined && v.trim() !== '') return { name, value: v };
  }
  return null;
}

/**
 * `inputs.darktrace.proxy` when given (the environment is then ignored, NO_PROXY included),
 * else https_proxy/HTTPS_PROXY, http_proxy/HTTP_PROXY and no_proxy/NO_PROXY; null: direct.
 */
export function compileProxy(raw: unknown, env: ProxyEnvironment): ProxyConfig | null {
  if (raw !== undefined && raw !== null) {
    if (typeof raw !== 'string' || raw.trim() === '') {
      fail(69, 'inputs.darktrace.proxy must be an http:// proxy URL (http://[user:password@]host:port)');
    }
    const url = parseProxyUrl(raw, 'inputs.darktrace.proxy');
    return { httpsProxy: url, httpProxy: url, noProxy: '', source: 'config' };
  }
  const https = firstSet(env, ['https_proxy', 'HTTPS_PROXY']);
  const http = firstSet(env, ['http_proxy', 'HTTP_PROXY']);
  if (!https && !http) return null;
  const noProxy = firstSet(env, ['no_proxy', 'NO_PROXY'])?.value.trim() ?? '';
  return {
    httpsProxy: https ? parseProxyUrl(https.value, `the environment variable ${https.name}`) : null,
    httpProxy: http ? parseProxyUrl(http.value, `the environment variable ${http.name}`) : null,
    noProxy,
    source: 'environment',
  };
}

/** How requests to one appliance travel: through a proxy, or directly (and why). */
export type ProxyRoute =
  | { via: 'proxy'; url: string; display: string; source: ProxyConfig['source'] }
  | { via: 'direct'; reason: 'no proxy' | 'no proxy for this scheme' | `NO_PROXY entry "${string}"` };

/**
 * The proxy for `baseUrl` (an origin): https appliances use httpsProxy, http ones httpProxy (as
 * curl, no fallback from one to the other), unless a NO_PROXY entry matches the host: `*`, a host
 * name (itself and its subdomains; a leading `.` or `*.` is ignored), an IP address or CIDR
 * range, each optionally with `:port`.
 */
export function proxyRoute(proxy: ProxyConfig | null, baseUrl: string): ProxyRoute {
  if (!proxy) return { via: 'direct', reason: 'no proxy' };
  const target = new URL(baseUrl);
  const url = target.protocol === 'https:' ? proxy.httpsProxy : proxy.httpProxy;
  if (!url) return { via: 'direct', reason: 'no proxy for this scheme' };
  const entry = noProxyMatch(proxy.noProxy, target);
  if (entry !== null) return { via: 'direct', reason: `NO_PROXY entry "${entry}"` };
  return { via: 'proxy', url, display: proxyDisplay(url), source: proxy.source };
}

function noProxyMatch(list: string, target: URL): string | null {
  const host = target.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  const port = Number(target.port) || (target.protocol === 'https:' ? 443 : 80);
  for (const raw of list.split(/[,\s]+/)) {
    const entry = raw.trim();
    if (!entry) continue;
    if (entry === '*') return entry;
    // `host:port`, `[v6]:port`; a bare IPv6 address has colons of its own.
    const m = /^\[?(.+?)\]?:(\d+)$/.exec(entry);
    const name = (m && isIP(entry) === 0 ? m[1]! : entry).replace(/^\[|\]$/g, '').toLowerCase();
    const entryPort = m && isIP(entry) === 0 ? Number(m[2]) : 0;
    if (entryPort && entryPort !== port) continue;
    if (name.includes('/')) {
      if (cidrContains(name, host)) return entry;
      continue;
    }
    const bare = name.replace(/^\*?\./, '');
    if (host === bare || host.endsWith(`.${bare}`)) return entry;
  }
  return null;
}

function cidrContains(cidr: string, host: string): boolean {
  const [net, bitsText] = cidr.split('/');
  const family = isIP(net ?? '');
  const hostFamily = isIP(host);
  const bits = Number(bitsText);
  if (!family || family !== hostFamily || !Number.isInteger(bits)) return false;
  const list = new BlockList();
  try {
    list.addSubnet(net!, bits, family === 4 ? 'ipv4' : 'ipv6');
  } catch {
    return false;
  }
  return list.check(host, family === 4 ? 'ipv4' : 'ipv6');
}
