/**
 * The forked collector (dist/main.js) behind a real forward proxy (Debian's tinyproxy, basic auth
 * on, CONNECT only to the simulator's port) towards the simulator over HTTPS with its own CA
 * (`ca_file`): records arrive through the tunnel and the proxy's log shows the CONNECTs; the
 * environment form (HTTPS_PROXY, NO_PROXY) works the same; a wrong password or a proxy that is down
 * is SetupError(104) / (106) in the log, in /ready (503) and a failed --validate; the password never
 * appears in anything the collector prints or serves (debug on, so the compiled configuration is
 * printed too).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '@devo-collector/darktrace-sim';
import { generateTestCerts, type TestCerts } from '@devo-collector/testkit';
import { PRIV, PUB, baseConfig, makeWorkspace, metricValue, runCollector, until, webBase, writeConfig, type RunningCollector } from './helpers/collector.js';
import { startTinyproxy, type Tinyproxy } from './helpers/tinyproxy.js';

const USER = 'dt-collector';
const PASSWORD = 'Tunnel-Pa55word-x9';
let certs: TestCerts;
let sim: Simulator;
let proxy: Tinyproxy;
let simPort: number;

beforeAll(async () => {
  certs = generateTestCerts();
  sim = await startSimulator({
    publicToken: PUB, privateToken: PRIV, seed: 11, modelBreachesPerHour: 10,
    tls: { cert: readFileSync(certs.serverCertPath, 'utf8'), key: readFileSync(certs.serverKeyPath, 'utf8') },
  });
  simPort = Number(new URL(sim.url).port);
  proxy = await startTinyproxy({ user: USER, password: PASSWORD, connectPorts: [simPort] });
});
afterAll(async () => {
  await proxy?.stop();
  await sim?.close();
});

/**
 * A workspace whose config is baseConfig over https with the simulator's CA, debug on (prints the
 * compiled configuration), through `proxyUrl` when given; `web`: the web service on port 0.
 */
function proxiedWorkspace(proxyUrl?: string, web = false): string {
  const cfg = baseConfig(sim.url);
  cfg.globals.debug = true;
  cfg.inputs.darktrace.ca_file = certs.caPath;
  if (proxyUrl !== undefined) cfg.inputs.darktrace.proxy = proxyUrl;
  if (web) cfg.globals.web_service = { enabled: true, host: '127.0.0.1', port: 0 };
  const dir = makeWorkspace();
  writeConfig(dir, cfg);
  return dir;
}

function expectNoPassword(c: RunningCollector, password = PASSWORD): void {
  expect(c.output()).not.toContain(password);
  expect(c.output()).not.toContain(encodeURIComponent(password));
  expect(c.output()).not.toContain(PRIV);
}

interface ReadyBody {
  status: string;
  reasons: Array<{ component: string; state: string; id: string; message: string }>;
}

/** /ready once it names `id` for modelbreaches; checks /ready and /metrics never show the password. */
async function notReadyWith(c: RunningCollector, id: string, password = PASSWORD): Promise<ReadyBody['reasons'][number]> {
  const base = await webBase(c);
  const body = await until(async () => {
    const r = await fetch(`${base}/ready`);
    const b = (await r.json()) as ReadyBody;
    return r.status === 503 && b.reasons.some((x) => x.component === 'service:modelbreaches' && x.id === id) ? b : undefined;
  }, 20_000, `/ready 503 with ${id}`, () => c.lines.slice(-20).join('\n'));
  expect(body.status).toBe('not-ready');
  const metrics = await (await fetch(`${base}/metrics`)).text();
  expect(metricValue(metrics, 'service_state', 'service="modelbreaches",state="failing"')).toBe(1);
  for (const text of [JSON.stringify(body), metrics]) {
    expect(text).not.toContain(password);
    expect(text).not.toContain(encodeURIComponent(password));
  }
  return body.reasons.find((x) => x.component === 'service:modelbreaches' && x.id === id)!;
}

const connects = () => proxy.connectRequests().filter((l) => l === `CONNECT 127.0.0.1:${simPort}`).length;

describe('collector behind an http proxy', () => {
  it('inputs.darktrace.proxy: records arrive through the CONNECT tunnel; the proxy logs it; no password in any line', async () => {
    const before = connects();
    const dir = proxiedWorkspace(proxy.urlWith());
    const c = runCollector(dir);
    try {
      await c.waitFor(new RegExp(`The Darktrace server ${sim.url.replace(/\./g, '\\.')} is reached through the proxy http://127\\.0\\.0\\.1:${proxy.port} \\(from inputs\\.darktrace\\.proxy\\)`));
      await c.waitFor(/"message_tag":"edr\.darktrace\.respond\.model_breach"/);
      await c.waitFor(/Setup for module <StatelessServicePuller> has been successfully executed/);
      expect(c.output()).toContain('Compiled configuration:');
      expect(c.output()).toContain(`"httpsProxy":"http://****@127.0.0.1:${proxy.port}"`);
    } finally {
      expect((await c.stop()).code).toBe(0);
    }
    expectNoPassword(c);
    expect(connects()).toBeGreaterThan(before);
  });

  it('HTTPS_PROXY in the environment (no proxy key) works the same', async () => {
    const before = connects();
    const dir = proxiedWorkspace();
    const c = runCollector(dir, { env: { HTTPS_PROXY: proxy.urlWith(), NO_PROXY: 'example.com' } });
    try {
      await c.waitFor(new RegExp(`reached through the proxy http://127\\.0\\.0\\.1:${proxy.port} \\(from the proxy environment\\)`));
      await c.waitFor(/"message_tag":"edr\.darktrace\.respond\.model_breach"/);
    } finally {
      expect((await c.stop()).code).toBe(0);
    }
    expectNoPassword(c);
    expect(connects()).toBeGreaterThan(before);
  });

  it('NO_PROXY naming the appliance bypasses the (stopped) proxy', async () => {
    const gone = await startTinyproxy({ user: USER, password: PASSWORD });
    await gone.stop();
    const dir = proxiedWorkspace();
    const c = runCollector(dir, { env: { https_proxy: gone.urlWith(), no_proxy: 'localhost,127.0.0.1' } });
    try {
      await c.waitFor(/is reached directly \(NO_PROXY entry "127\.0\.0\.1"; proxy from the proxy environment\)/);
      await c.waitFor(/"message_tag":"edr\.darktrace\.respond\.model_breach"/);
    } finally {
      expect((await c.stop()).code).toBe(0);
    }
    expectNoPassword(c);
  });

  it('a wrong proxy password: SetupError(104) naming the proxy in the log and /ready, retried without pulling; --validate fails', async () => {
    const wrong = `${PASSWORD}-wrong`;
    const dir = proxiedWorkspace(proxy.urlWith(USER, wrong), true);
    const c = runCollector(dir);
    try {
      const line = await c.waitFor(/SetupError\(104\)/);
      expect(line).toContain(`Proxy authentication failed: the proxy 127.0.0.1:${proxy.port} answered`);
      expect(line).toContain(`CONNECT 127.0.0.1:${simPort}`);
      const reason = await notReadyWith(c, 'SetupError(104)', wrong);
      expect(reason.message).toContain(`Proxy authentication failed: the proxy 127.0.0.1:${proxy.port}`);
      expect(c.output()).not.toMatch(/"message_tag":"edr\.darktrace\.respond\.model_breach"/);
    } finally {
      expect((await c.stop()).code).toBe(0);
    }
    expectNoPassword(c, wrong);

    const v = runCollector(dir, { args: ['--config', 'config.yaml', '--validate'] });
    expect((await v.exit).code).toBe(1);
    expect(v.output()).toMatch(/Validation of service modelbreaches: FAILED SetupError\(104\): Proxy authentication failed: the proxy 127\.0\.0\.1:\d+/);
    expectNoPassword(v, wrong);
  });

  it('a proxy that forbids the CONNECT: SetupError(105) in the log and /ready', async () => {
    const strict = await startTinyproxy({ user: USER, password: PASSWORD, connectPorts: [9] });
    const dir = proxiedWorkspace(strict.urlWith(), true);
    const c = runCollector(dir);
    try {
      const reason = await notReadyWith(c, 'SetupError(105)');
      expect(reason.message).toContain(`The proxy refused the connection: the proxy 127.0.0.1:${strict.port} answered 403 to CONNECT 127.0.0.1:${simPort}`);
      expect(c.output()).toMatch(/ERROR InputProcess::CollectorDarktracePullerSetup\(darktrace#10001,modelbreaches#predefined\) -> SetupError\(105\)/);
      expect(strict.log()).toContain(`Refused CONNECT method on port ${simPort}`);
    } finally {
      expect((await c.stop()).code).toBe(0);
      await strict.stop();
    }
    expectNoPassword(c);
  });

  it('a proxy that is down: SetupError(106) in the log, in /ready and from --validate', async () => {
    const gone = await startTinyproxy({ user: USER, password: PASSWORD });
    await gone.stop();
    const dir = proxiedWorkspace(gone.urlWith(), true);
    const c = runCollector(dir);
    try {
      const line = await c.waitFor(/SetupError\(106\)/);
      expect(line).toContain(`The proxy is unreachable: the proxy 127.0.0.1:${gone.port} cannot be reached (ECONNREFUSED`);
      const reason = await notReadyWith(c, 'SetupError(106)');
      expect(reason.message).toContain(`The proxy is unreachable: the proxy 127.0.0.1:${gone.port}`);
    } finally {
      expect((await c.stop()).code).toBe(0);
    }
    expectNoPassword(c);
    const v = runCollector(dir, { args: ['--config', 'config.yaml', '--validate'] });
    expect((await v.exit).code).toBe(1);
    expect(v.output()).toMatch(/Validation of service summarystatistics: FAILED SetupError\(106\): The proxy is unreachable/);
  });

  it('--validate checks the path through the proxy and passes', async () => {
    const before = connects();
    const dir = proxiedWorkspace(proxy.urlWith());
    const v = runCollector(dir, { args: ['--config', 'config.yaml', '--validate'] });
    expect((await v.exit).code).toBe(0);
    expect(v.output()).toMatch(/Validation finished: 3 passed, 0 failed/);
    expect(connects()).toBeGreaterThan(before);
    expectNoPassword(v);
  });

  it('an https:// proxy URL is InitVariablesError(69), exit 2, without the password', async () => {
    const dir = proxiedWorkspace(`https://${USER}:${PASSWORD}@127.0.0.1:${proxy.port}`);
    const c = runCollector(dir);
    expect((await c.exit).code).toBe(2);
    expect(c.output()).toMatch(/InitVariablesError\(69\): inputs\.darktrace\.proxy must be an http:\/\/ proxy URL/);
    expectNoPassword(c);
  });
});
