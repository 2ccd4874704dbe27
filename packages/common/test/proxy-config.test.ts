/**
 * `inputs.darktrace.proxy` and the proxy environment: what compiles, what is InitVariablesError(69)
 * (never showing the password), curl's precedence of the variables, and NO_PROXY matching.
 */
import { describe, expect, it } from 'vitest';
import { compileProxy, maskConfig, parseProxyUrl, proxyRoute, redact, type InitVariablesError } from '../src/index.js';
import { compileIn, here, initError } from './helpers.js';

function config(proxy?: unknown): Record<string, any> {
  return {
    globals: { id: '1', name: 'dt', persistence: { type: 'memory' } },
    outputs: { console_1: { type: 'console' } },
    inputs: {
      darktrace: {
        id: '12345',
        credentials: { public_token: 'PUBLICTOKEN-0123456789', private_token: 'PRIVATETOKEN-0123456789', instance: 'dt.example.com' },
        services: { status: {} },
        ...(proxy !== undefined ? { proxy } : {}),
      },
    },
  };
}

function compile(raw: unknown, env: Record<string, string> = {}) {
  return compileIn(here, raw, { env, nowMs: Date.now() });
}

function error69(fn: () => unknown): InitVariablesError {
  const e = initError(fn);
  expect(e.code).toBe(69);
  return e;
}

describe('inputs.darktrace.proxy', () => {
  it('is null without the key and without proxy variables (the compile never reads process.env itself)', () => {
    expect(compile(config()).inputs[0]!.proxy).toBeNull();
  });

  it('compiles an http URL with credentials for both schemes; the environment is then ignored', () => {
    const p = compile(config('http://user:p%40ss@proxy.corp:3128'), { HTTPS_PROXY: 'http://other:8080', NO_PROXY: '*' }).inputs[0]!.proxy;
    expect(p).toEqual({ httpsProxy: 'http://user:p%40ss@proxy.corp:3128', httpProxy: 'http://user:p%40ss@proxy.corp:3128', noProxy: '', source: 'config' });
  });

  it('defaults the port to 1080 and the scheme to http://, as curl', () => {
    expect(parseProxyUrl('proxy.corp', 'x')).toBe('http://proxy.corp:1080');
    expect(parseProxyUrl('http://[::1]:3128/', 'x')).toBe('http://[::1]:3128');
  });

  for (const [value, why] of [
    ['https://user:Secret-pw@proxy.corp:3128', /https proxies are not supported/],
    ['socks5://user:Secret-pw@proxy.corp:1080', /socks5 proxies are not supported/],
    ['http://user:Secret-pw@proxy.corp:3128/path', /without path or query/],
    ['http://user:Secret-pw@proxy corp:3128', /must be an http:\/\/ proxy URL/],
  ] as const) {
    it(`InitVariablesError(69) for ${value.replace('Secret-pw', '***')}, without the password`, () => {
      const e = error69(() => compile(config(value)));
      expect(String(e)).toMatch(why);
      expect(String(e)).toContain('inputs.darktrace.proxy');
      expect(String(e)).not.toContain('Secret-pw');
    });
  }

  it('InitVariablesError(69) for a value that is not a string', () => {
    expect(String(error69(() => compile(config(3128))))).toMatch(/inputs\.darktrace\.proxy must be an http:\/\/ proxy URL/);
  });
});

describe('proxy environment (curl precedence)', () => {
  it('lowercase wins over uppercase; empty counts as unset', () => {
    expect(compileProxy(undefined, { https_proxy: 'http://low:1', HTTPS_PROXY: 'http://up:2' })!.httpsProxy).toBe('http://low:1');
    expect(compileProxy(undefined, { https_proxy: '', HTTPS_PROXY: 'http://up:2' })!.httpsProxy).toBe('http://up:2');
    expect(compileProxy(undefined, { http_proxy: 'http://low:1', HTTP_PROXY: 'http://up:2' })!.httpProxy).toBe('http://low:1');
    expect(compileProxy(undefined, { HTTP_PROXY: 'http://up:2' })!.httpProxy).toBe('http://up:2');
    expect(compileProxy(undefined, { https_proxy: 'http://p:1', no_proxy: 'a', NO_PROXY: 'b' })!.noProxy).toBe('a');
    expect(compileProxy(undefined, { NO_PROXY: 'localhost' })).toBeNull();
  });

  it('names the variable in the error, never the password', () => {
    const e = error69(() => compile(config(), { HTTPS_PROXY: 'https://u:Env-secret@proxy:443' }));
    expect(String(e)).toContain('the environment variable HTTPS_PROXY');
    expect(String(e)).not.toContain('Env-secret');
  });

  it('an https appliance uses https_proxy only, an http one http_proxy only (no fallback)', () => {
    const onlyHttp = compileProxy(undefined, { HTTP_PROXY: 'http://p:3128' });
    expect(proxyRoute(onlyHttp, 'https://dt.example.com')).toEqual({ via: 'direct', reason: 'no proxy for this scheme' });
    expect(proxyRoute(onlyHttp, 'http://127.0.0.1:8080')).toMatchObject({ via: 'proxy', display: 'http://p:3128', source: 'environment' });
  });
});

describe('NO_PROXY', () => {
  const route = (noProxy: string, url: string) => proxyRoute({ httpsProxy: 'http://p:1', httpProxy: 'http://p:1', noProxy, source: 'environment' }, url).via;
  it.each([
    ['*', 'https://dt.example.com', 'direct'],
    ['example.com', 'https://dt.example.com', 'direct'],
    ['.example.com', 'https://dt.example.com', 'direct'],
    ['*.example.com', 'https://example.com', 'direct'],
    ['ample.com', 'https://dt.example.com', 'proxy'],
    ['other.org, dt.example.com', 'https://dt.example.com:8443', 'direct'],
    ['dt.example.com:443', 'https://dt.example.com', 'direct'],
    ['dt.example.com:8443', 'https://dt.example.com', 'proxy'],
    ['10.0.0.0/8', 'https://10.1.2.3', 'direct'],
    ['10.0.0.0/8', 'https://11.1.2.3', 'proxy'],
    ['127.0.0.1', 'https://127.0.0.1:9443', 'direct'],
    ['::1', 'https://[::1]:9443', 'direct'],
    ['fd00::/8', 'https://[fd12::1]', 'direct'],
    ['', 'https://dt.example.com', 'proxy'],
  ])('%j for %s: %s', (list, url, via) => {
    expect(route(list, url)).toBe(via);
  });
});

describe('the proxy password stays out of logs', () => {
  it('maskConfig and redact mask the userinfo of proxy URLs', () => {
    const c = compile(config('http://user:Mask-me-pw@proxy.corp:3128'));
    const text = JSON.stringify(maskConfig(c));
    expect(text).not.toContain('Mask-me-pw');
    expect(text).toContain('http://****@proxy.corp:3128');
    expect(redact('via http://user:Mask-me-pw@proxy.corp:3128 failed')).toBe('via http://****@proxy.corp:3128 failed');
  });

  it('the compile registers the password as a secret (masked even outside a URL)', () => {
    compile(config('http://user:Registered-pw@proxy.corp:3128'));
    expect(redact('password Registered-pw')).not.toContain('Registered-pw');
  });
});
