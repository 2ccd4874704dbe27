/**
 * The API client through a real forward proxy (Debian's tinyproxy, basic auth on) to the
 * simulator over HTTPS: CONNECT tunnels, the appliance CA still applies behind the proxy, and a
 * proxy that refuses (407/401, 403, not running) gives its documented id naming the proxy's
 * host:port, never its password.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PullError, SetupError, compileProxy, type ProxyConfig } from '@devo-collector/common';
import { startTinyproxy, type Tinyproxy } from '../../main/test/helpers/tinyproxy.js';
import { generateTestCerts, type TestCerts } from '@devo-collector/testkit';
import type { Simulator } from '../src/index.js';
import { PRIV, PUB, clientFor, startSim } from './helpers.js';

const USER = 'collector';
const PASSWORD = 'Pr0xy-pass-w0rd';
let certs: TestCerts;
let sim: Simulator;
let httpSim: Simulator;
let proxy: Tinyproxy;
let caPem: string;

function viaConfig(url: string): ProxyConfig {
  return compileProxy(url, {})!;
}

/** Every way the error can be printed, checked for the password. */
function printed(err: unknown): string {
  return [String(err), (err as Error).message, inspect(err, { depth: 10, showHidden: true }), JSON.stringify(err)].join('\n');
}

async function failure(p: Promise<unknown>): Promise<SetupError | PullError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).not.toBeNull();
  expect(printed(err)).not.toContain(PASSWORD);
  return err as SetupError | PullError;
}

beforeAll(async () => {
  certs = generateTestCerts();
  caPem = readFileSync(certs.caPath, 'utf8');
  sim = await startSim({ tls: { cert: readFileSync(certs.serverCertPath, 'utf8'), key: readFileSync(certs.serverKeyPath, 'utf8') } });
  httpSim = await startSim();
  const simPort = Number(new URL(sim.url).port);
  const httpPort = Number(new URL(httpSim.url).port);
  proxy = await startTinyproxy({ user: USER, password: PASSWORD, connectPorts: [simPort, httpPort] });
});
afterAll(async () => {
  await proxy?.stop();
  await sim?.close();
  await httpSim?.close();
});

describe('client through an http proxy', () => {
  it('reaches the https appliance through a CONNECT tunnel with basic auth; the proxy logs the CONNECT', async () => {
    const c = clientFor(sim, { caPem, proxy: viaConfig(proxy.urlWith()), maxRetries: 0 });
    try {
      await expect(c.checkCredentials('/status')).resolves.toBeUndefined();
      const body = await c.get('/status');
      expect(body).toBeTypeOf('object');
    } finally {
      await c.close();
    }
    expect(proxy.connectRequests()).toContain(`CONNECT 127.0.0.1:${new URL(sim.url).port}`);
  });

  it('an http appliance goes through the proxy too (CONNECT)', async () => {
    const before = proxy.connectRequests().length;
    const c = clientFor(httpSim, { proxy: viaConfig(proxy.urlWith()), maxRetries: 0 });
    try {
      await expect(c.get('/status')).resolves.toBeTypeOf('object');
    } finally {
      await c.close();
    }
    expect(proxy.connectRequests().slice(before)).toContain(`CONNECT 127.0.0.1:${new URL(httpSim.url).port}`);
  });

  it('ca_file and tls_verify still apply to the appliance behind the proxy', async () => {
    const untrusted = clientFor(sim, { proxy: viaConfig(proxy.urlWith()), maxRetries: 0 });
    const err = await failure(untrusted.checkCredentials('/status'));
    await untrusted.close();
    expect(err).toBeInstanceOf(SetupError);
    expect(err.code).toBe(100);
    expect(String(err)).toMatch(/certificate/i);
    const unverified = clientFor(sim, { tlsVerify: false, proxy: viaConfig(proxy.urlWith()), maxRetries: 0 });
    await expect(unverified.checkCredentials('/status')).resolves.toBeUndefined();
    await unverified.close();
  });

  it('wrong proxy password: SetupError(104) / PullError(302) naming the proxy, never the password', async () => {
    const c = clientFor(sim, { caPem, proxy: viaConfig(proxy.urlWith(USER, `${PASSWORD}-wrong`)), maxRetries: 2 });
    try {
      const setup = await failure(c.checkCredentials('/status'));
      expect(setup).toBeInstanceOf(SetupError);
      expect(setup.code).toBe(104);
      expect(String(setup)).toContain(`SetupError(104): Proxy authentication failed: the proxy 127.0.0.1:${proxy.port}`);
      const pull = await failure(c.get('/status'));
      expect(pull).toBeInstanceOf(PullError);
      expect(pull.code).toBe(302);
      // Not retried: the same credentials would be refused again.
      expect(String(pull)).not.toMatch(/attempts/);
      expect(String(pull)).toContain(`127.0.0.1:${proxy.port}`);
    } finally {
      await c.close();
    }
    const noCredentials = clientFor(sim, { caPem, proxy: viaConfig(proxy.url), maxRetries: 0 });
    const err = await failure(noCredentials.checkCredentials('/status'));
    await noCredentials.close();
    expect(err.code).toBe(104);
    expect(String(err)).toMatch(/answered 407/);
  });

  it('a CONNECT the proxy forbids: SetupError(105) / PullError(303)', async () => {
    const strict = await startTinyproxy({ user: USER, password: PASSWORD, connectPorts: [9] });
    const c = clientFor(sim, { caPem, proxy: viaConfig(strict.urlWith()), maxRetries: 0 });
    try {
      const setup = await failure(c.checkCredentials('/status'));
      expect(setup.code).toBe(105);
      expect(String(setup)).toContain(`The proxy refused the connection: the proxy 127.0.0.1:${strict.port} answered 403 to CONNECT 127.0.0.1:${new URL(sim.url).port}`);
      const pull = await failure(c.get('/status'));
      expect(pull).toBeInstanceOf(PullError);
      expect(pull.code).toBe(303);
    } finally {
      await c.close();
      await strict.stop();
    }
  });

  it('a proxy that is not running: SetupError(106) / PullError(304), retried', async () => {
    const gone = await startTinyproxy({ user: USER, password: PASSWORD });
    const url = gone.urlWith();
    await gone.stop();
    const c = clientFor(sim, { caPem, proxy: viaConfig(url), maxRetries: 1 });
    try {
      const setup = await failure(c.checkCredentials('/status'));
      expect(setup.code).toBe(106);
      expect(String(setup)).toContain(`The proxy is unreachable: the proxy 127.0.0.1:${gone.port} cannot be reached (ECONNREFUSED`);
      const pull = await failure(c.get('/status'));
      expect(pull.code).toBe(304);
      expect(String(pull)).toContain('after 2 attempts');
    } finally {
      await c.close();
    }
  });

  it('a proxy that accepts and never answers CONNECT: SetupError(106) within the request timeout, no hang', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    const c = clientFor(sim, { caPem, proxy: viaConfig(`http://${USER}:${PASSWORD}@127.0.0.1:${port}`), maxRetries: 0, requestTimeoutMs: 400 });
    try {
      const started = Date.now();
      const err = await failure(c.checkCredentials('/status'));
      expect(err.code).toBe(106);
      expect(String(err)).toContain(`The proxy is unreachable: the proxy 127.0.0.1:${port} did not answer CONNECT 127.0.0.1:${new URL(sim.url).port}`);
      // undici's timers tick about once a second; far below its 300 s default for the CONNECT.
      expect(Date.now() - started).toBeLessThan(15_000);
    } finally {
      await c.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('NO_PROXY naming the appliance goes direct, even with the proxy down', async () => {
    const gone = await startTinyproxy();
    await gone.stop();
    const env = { HTTPS_PROXY: gone.url, NO_PROXY: 'example.com, 127.0.0.0/8' };
    const c = clientFor(sim, { caPem, proxy: compileProxy(undefined, env), maxRetries: 0 });
    try {
      await expect(c.checkCredentials('/status')).resolves.toBeUndefined();
    } finally {
      await c.close();
    }
  });

  it('the tokens still travel signed inside the tunnel (a wrong token is the appliance saying 101)', async () => {
    const c = clientFor(sim, { caPem, proxy: viaConfig(proxy.urlWith()), maxRetries: 0, privateToken: `${PRIV}x`, publicToken: PUB });
    const err = await failure(c.checkCredentials('/status'));
    await c.close();
    expect(err.code).toBe(101);
  });
});
