/**
 * Readiness tells the truth, against the real collector (dist/main.js), the real simulator over
 * HTTP and a console output: bad tokens turn /ready to 503 with SetupError(101) at the first failed
 * setup and back to 200 once the appliance accepts them; setup faults that clear within seconds
 * (429 with Retry-After, 500, 502) delay the first events by seconds, not a minute; no enabled
 * input is not ready; everything fine is 200 with every state ok.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '@devo-collector/darktrace-sim';
import { generateTestCerts, startTlsReceiver, type TlsReceiver } from '@devo-collector/testkit';
import { startRsyslog, type Rsyslog } from '../../output/test/helpers/rsyslog.js';
import {
  PRIV,
  PUB,
  alive,
  baseConfig,
  makeWorkspace,
  metricValue,
  runCollector,
  until,
  webBase,
  writeConfig,
  workerPid,
  writeDefinitions,
  type RunningCollector,
} from './helpers/collector.js';

interface ReadyBody {
  status: string;
  reasons: Array<{ component: string; state: string; id: string; message: string; since: string }>;
  services: Record<string, { state: string; reason?: { id: string; message: string }; lastSuccessMs: number | null }>;
  outputs: Record<string, { state: string }>;
}

let sim: Simulator | undefined;
let collector: RunningCollector | undefined;
let receiver: TlsReceiver | undefined;
let rsyslog: Rsyslog | undefined;
afterEach(async () => {
  await receiver?.stop();
  receiver = undefined;
  await rsyslog?.stop();
  rsyslog = undefined;
  if (collector && collector.proc.exitCode === null) {
    collector.proc.kill('SIGTERM');
    expect((await collector.exit).code).toBe(0);
  }
  collector = undefined;
  await sim?.close();
  sim = undefined;
});

async function ready(base: string): Promise<{ status: number; body: ReadyBody }> {
  const r = await fetch(`${base}/ready`);
  return { status: r.status, body: (await r.json()) as ReadyBody };
}
const metrics = async (base: string): Promise<string> => (await fetch(`${base}/metrics`)).text();

function start(cfg: Record<string, any>, definitions?: Record<string, number>): { c: RunningCollector; startedAt: number } {
  const dir = makeWorkspace();
  cfg.globals.web_service = { enabled: true, host: '127.0.0.1', port: 0 };
  writeConfig(dir, cfg);
  const args = ['--config', 'config.yaml'];
  if (definitions) args.push('--definitions', writeDefinitions(dir, definitions));
  const startedAt = Date.now();
  collector = runCollector(dir, { args });
  return { c: collector, startedAt };
}
const tail = (c: RunningCollector) => () => c.lines.slice(-30).join('\n');

describe('readiness against the real peers', () => {
  it('bad tokens: /ready 503 with SetupError(101) at the first failed setup, /health 200; the appliance accepts them: 200 (rsyslog output)', async () => {
    sim = await startSimulator({ publicToken: PUB, privateToken: PRIV, seed: 21, modelBreachesPerHour: 10 });
    const certs = generateTestCerts();
    rsyslog = await startRsyslog(certs);
    const wrong = 'wrong-private-token-0000000000000000';
    const cfg = baseConfig(sim.url);
    cfg.inputs.darktrace.credentials.private_token = wrong;
    cfg.outputs = { devo_1: { type: 'devo_platform', config: { address: '127.0.0.1', port: rsyslog.port, chain: certs.caPath, cert: certs.clientCertPath, key: certs.clientKeyPath } } };
    // The long period (tokens) made short so that the recovery shows within the test.
    const { c } = start(cfg, { setup_retry_period_in_seconds: 5 });
    const base = await webBase(c);
    const setupFailures = () => c.lines.filter((l) => /PullerSetup\(darktrace#10001,modelbreaches#predefined\) -> SetupError\(101\)/.test(l)).length;
    const notReady = await until(async () => {
      const r = await ready(base);
      return r.status === 503 && r.body.services.modelbreaches?.state === 'failing' ? r : undefined;
    }, 10_000, '/ready 503 with modelbreaches failing', tail(c));
    // At the first failed setup, not after retries: the next attempt is 5 s away.
    expect(setupFailures()).toBe(1);
    expect(notReady.body.status).toBe('not-ready');
    const reason = notReady.body.reasons.find((x) => x.component === 'service:modelbreaches');
    expect(reason).toMatchObject({ state: 'failing', id: 'SetupError(101)' });
    expect(reason?.message).toMatch(/^The tokens provided are incorrect\. .*another try cannot fix this .*retried in 5\.0 s\)$/);
    expect(Number.isNaN(Date.parse(reason!.since))).toBe(false);
    // The output is fine: only the services are reasons.
    expect(notReady.body.outputs).toEqual({ devo_1: { state: 'ok' } });
    expect(notReady.body.reasons.every((x) => x.component.startsWith('service:'))).toBe(true);
    expect(JSON.stringify(notReady.body)).not.toContain(wrong);
    expect(JSON.stringify(notReady.body)).not.toContain(PUB);
    expect((await fetch(`${base}/health`)).status).toBe(200);
    const m = await until(async () => {
      const t = await metrics(base);
      return metricValue(t, 'service_state', 'service="summarystatistics",state="failing"') === 1 ? t : undefined;
    }, 10_000, 'both services failing in the gauges');
    expect(metricValue(m, 'module_global_status')).toBe(0);
    expect(metricValue(m, 'service_state', 'service="modelbreaches",state="failing"')).toBe(1);
    expect(metricValue(m, 'service_state', 'service="modelbreaches",state="ok"')).toBe(0);
    expect(c.output()).toContain('Setup will be retried in 5.0 seconds');
    expect(c.output()).toMatch(/WARNING MainProcess::MainThread -> Not ready: .*service:modelbreaches failing SetupError\(101\)/);

    // The operator fixes the token on the appliance: the next setup succeeds, no restart.
    sim.setTokens({ publicToken: PUB, privateToken: wrong });
    const back = await until(async () => {
      const r = await ready(base);
      return r.status === 200 ? r : undefined;
    }, 20_000, '/ready back to 200', tail(c));
    expect(back.body.status).toBe('ready');
    expect(back.body.reasons).toEqual([]);
    expect(back.body.services.modelbreaches?.state).toBe('ok');
    const after = await until(async () => {
      const t = await metrics(base);
      return metricValue(t, 'module_global_status') === 1 ? t : undefined;
    }, 5_000, 'module_global_status 1');
    expect(metricValue(after, 'service_state', 'service="modelbreaches",state="ok"')).toBe(1);
    expect(metricValue(after, 'service_state', 'service="modelbreaches",state="failing"')).toBe(0);
    await until(() => (rsyslog!.lines().some((l) => l.includes(' edr.darktrace.respond.model_breach: ')) ? true : undefined), 20_000, 'breaches in rsyslog', tail(c));
    expect(c.output()).toMatch(/INFO MainProcess::MainThread -> Ready: every enabled service and every output is ok/);
  });

  it('setup faults that clear within seconds (429 Retry-After 2, 500, 502): short retries, first events within seconds', async () => {
    sim = await startSimulator({ publicToken: PUB, privateToken: PRIV, seed: 22, modelBreachesPerHour: 10 });
    sim.injectFault({ kind: '429', count: 1, endpoint: '/modelbreaches', retryAfterSec: 2 });
    sim.injectFault({ kind: '500', count: 1, endpoint: '/modelbreaches' });
    sim.injectFault({ kind: '502-html', count: 1, endpoint: '/modelbreaches' });
    const { c, startedAt } = start(baseConfig(sim.url));
    const base = await webBase(c);
    // While the appliance answers 429, readiness says why, and that it is transient.
    const during = await until(async () => {
      const r = await ready(base);
      return r.body.services?.modelbreaches?.state === 'failing' ? r : undefined;
    }, 15_000, 'modelbreaches failing with the 429', tail(c));
    expect(during.status).toBe(503);
    const reason = during.body.reasons.find((x) => x.component === 'service:modelbreaches');
    expect(reason?.id).toBe('SetupError(103)');
    expect(reason?.message).toMatch(/status code, 429 .*\(transient, setup is retried in 2\.0 s\)$/);
    await c.waitFor(/"message_tag":"edr\.darktrace\.respond\.model_breach"/, 30_000);
    const firstEventS = (Date.now() - startedAt) / 1000;
    // Retry-After 2 s, then two backoffs (1 s doubling, jittered) of at most 2 s and 4 s: seconds, not the 60 s of before.
    expect(firstEventS).toBeLessThan(25);
    const out = c.output();
    expect(out).toContain('Setup will be retried in 2.0 seconds');
    expect(out).toMatch(/SetupError\(103\): Unexpected HTTP error occurred at the Darktrace server\. status code, 500/);
    expect(out).toMatch(/SetupError\(103\): Unexpected HTTP error occurred at the Darktrace server\. status code, 502/);
    const retries = [...out.matchAll(/Setup will be retried in ([\d.]+) seconds/g)].map((m) => Number(m[1]));
    expect(retries).toHaveLength(3);
    expect(retries[0]).toBe(2);
    expect(retries[1]).toBeLessThanOrEqual(2);
    expect(retries[2]).toBeLessThanOrEqual(4);
    await until(async () => ((await ready(base)).status === 200 ? true : undefined), 10_000, '/ready 200 after the faults', tail(c));
    console.log(`[figures] first model breach ${firstEventS.toFixed(1)} s after start; setup retries ${retries.join(', ')} s`);
  });

  it('everything fine: /ready 200 with every service and output ok, gauges one-hot', async () => {
    sim = await startSimulator({ publicToken: PUB, privateToken: PRIV, seed: 23, modelBreachesPerHour: 10 });
    const { c } = start(baseConfig(sim.url));
    const base = await webBase(c);
    const r = await until(async () => {
      const x = await ready(base);
      return x.status === 200 ? x : undefined;
    }, 20_000, '/ready 200', tail(c));
    expect(r.body).toMatchObject({ status: 'ready', reasons: [], outputs: { console_1: { state: 'ok' } } });
    expect(r.body.services.modelbreaches).toMatchObject({ state: 'ok', lastSuccessMs: expect.any(Number) });
    expect(r.body.services.summarystatistics?.state).toBe('ok');
    const t = await until(async () => {
      const x = await metrics(base);
      return metricValue(x, 'spool_max_bytes') > 0 ? x : undefined;
    }, 10_000, 'spool_max_bytes reported');
    expect(metricValue(t, 'module_global_status')).toBe(1);
    for (const s of ['modelbreaches', 'summarystatistics']) {
      expect(metricValue(t, 'service_state', `service="${s}",state="ok"`)).toBe(1);
      expect(metricValue(t, 'service_state', `service="${s}",state="starting"`)).toBe(0);
      expect(metricValue(t, 'service_state', `service="${s}",state="failing"`)).toBe(0);
    }
    expect(metricValue(t, 'output_state', 'output="console_1",state="ok"')).toBe(1);
    expect(metricValue(t, 'output_state', 'output="console_1",state="stalled"')).toBe(0);
    expect(metricValue(t, 'output_state', 'output="console_1",state="blocked"')).toBe(0);
    expect(t).toMatch(/^spool_max_bytes\{output="console_1\.standard"\} \d+$/m);
  });

  it('no enabled input: /ready 503 with RuntimeError(510), said in the log', async () => {
    sim = await startSimulator({ publicToken: PUB, privateToken: PRIV, seed: 24 });
    const cfg = baseConfig(sim.url);
    cfg.inputs.darktrace.enabled = false;
    const { c } = start(cfg);
    const base = await webBase(c);
    await c.waitFor(/Started all objects from "MainProcess" process/);
    const r = await ready(base);
    expect(r.status).toBe(503);
    expect(r.body.reasons).toEqual([expect.objectContaining({ component: 'collector', state: 'no-input', id: 'RuntimeError(510)' })]);
    expect(r.body.services).toEqual({});
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect(metricValue(await metrics(base), 'module_global_status')).toBe(0);
    await c.waitFor(/WARNING MainProcess::MainThread -> Not ready: collector no-input RuntimeError\(510\)/, 5_000);
  });

  it('pulls failing for two request periods: PullError(300) until a pull succeeds again', async () => {
    sim = await startSimulator({ publicToken: PUB, privateToken: PRIV, seed: 25, modelBreachesPerHour: 10 });
    const cfg = baseConfig(sim.url);
    // One request per pull attempt (no client-side retries), so each fault is one failed pull.
    const { c } = start(cfg, { max_retries: 0 });
    const base = await webBase(c);
    await until(async () => ((await ready(base)).status === 200 ? true : undefined), 20_000, '/ready 200', tail(c));
    // summarystatistics pulls every 2 s: four 500s in a row fail its pulls for longer than 4 s.
    sim.injectFault({ kind: '500', count: 4, endpoint: '/summarystatistics' });
    const failing = await until(async () => {
      const r = await ready(base);
      return r.body.services.summarystatistics?.state === 'failing' ? r : undefined;
    }, 30_000, 'summarystatistics failing', tail(c));
    expect(failing.status).toBe(503);
    const reason = failing.body.reasons.find((x) => x.component === 'service:summarystatistics');
    expect(reason?.id).toBe('PullError(300)');
    expect(reason?.message).toMatch(/^pulls have failed for \d+ s without a success; last: HTTP Error occurred while retrieving events from Darktrace server/);
    // modelbreaches is untouched: only the failing service is a reason.
    expect(failing.body.reasons.map((x) => x.component)).toEqual(['service:summarystatistics']);
    const m = await metrics(base);
    expect(metricValue(m, 'service_state', 'service="summarystatistics",state="failing"')).toBe(1);
    expect(metricValue(m, 'module_global_status')).toBe(0);
    const back = await until(async () => {
      const r = await ready(base);
      return r.status === 200 ? r : undefined;
    }, 30_000, '/ready 200 once a pull succeeds', tail(c));
    expect(back.body.services.summarystatistics?.state).toBe('ok');
    expect(metricValue(await metrics(base), 'module_global_status')).toBe(1);
  });

  it('mutual-TLS output: ready with every state ok; a crashed input worker is not ready until it is back', async () => {
    sim = await startSimulator({ publicToken: PUB, privateToken: PRIV, seed: 26, modelBreachesPerHour: 10 });
    const certs = generateTestCerts();
    receiver = await startTlsReceiver(certs);
    const cfg = baseConfig(sim.url);
    cfg.outputs = { devo_1: { type: 'devo_platform', config: { address: '127.0.0.1', port: receiver.port, chain: certs.caPath, cert: certs.clientCertPath, key: certs.clientKeyPath } } };
    const { c } = start(cfg);
    const base = await webBase(c);
    const r = await until(async () => {
      const x = await ready(base);
      return x.status === 200 ? x : undefined;
    }, 20_000, '/ready 200', tail(c));
    expect(r.body.outputs).toEqual({ devo_1: { state: 'ok' } });
    await receiver.waitFor((t) => t.includes(' edr.darktrace.respond.model_breach: '), 20_000);
    const t = await until(async () => {
      const x = await metrics(base);
      return metricValue(x, 'spool_max_bytes', 'output="devo_1.standard"') > 0 ? x : undefined;
    }, 10_000, 'spool_max_bytes of devo_1');
    expect(metricValue(t, 'output_state', 'output="devo_1",state="ok"')).toBe(1);
    expect(metricValue(t, 'output_state', 'output="devo_1",state="blocked"')).toBe(0);

    const input1 = workerPid(c.lines, 'InputProcess')!;
    process.kill(input1, 'SIGKILL');
    const down = await until(async () => {
      const x = await ready(base);
      return x.status === 503 && x.body.reasons.some((y) => y.component === 'input') ? x : undefined;
    }, 10_000, '/ready 503 while the input worker is down', tail(c));
    expect(down.body.reasons.find((y) => y.component === 'input')).toMatchObject({ id: 'RuntimeError(512)' });
    expect(metricValue(await metrics(base), 'module_global_status')).toBe(0);
    await until(async () => ((await ready(base)).status === 200 ? true : undefined), 30_000, '/ready 200 after the restart', tail(c));
    expect(alive(workerPid(c.lines, 'InputProcess', 1)!)).toBe(true);
    expect(metricValue(await metrics(base), 'module_global_status')).toBe(1);
  });
});
