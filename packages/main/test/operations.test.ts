/**
 * What an operator watches, against the real collector, simulator and console output:
 * /health, /ready, /metrics with the documented names moving, [GC] lines from every process,
 * and --validate with good and wrong tokens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '@devo-collector/darktrace-sim';
import { PRIV, PUB, baseConfig, makeWorkspace, metricValue, runCollector, until, writeConfig } from './helpers/collector.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSimulator({ publicToken: PUB, privateToken: PRIV, seed: 11, modelBreachesPerHour: 10 });
});
afterAll(async () => {
  await sim.close();
});

describe('operations', () => {
  it('serves /health, /ready and /metrics whose counters move; every process logs [GC]', async () => {
    const dir = makeWorkspace();
    const cfg = baseConfig(sim.url);
    cfg.globals.web_service = { enabled: true, host: '127.0.0.1', port: 0 };
    writeConfig(dir, cfg);
    const c = runCollector(dir);
    try {
      const line = await c.waitFor(/Starting WebServiceThread, ip-port: 127\.0\.0\.1:(\d+)/);
      const base = `http://127.0.0.1:${/:(\d+)$/.exec(line)![1]}`;
      const health = await fetch(`${base}/health`);
      expect(health.status).toBe(200);
      expect(await health.json()).toMatchObject({ status: 'ok' });
      const ready = await until(async () => {
        const r = await fetch(`${base}/ready`);
        return r.status === 200 ? ((await r.json()) as Record<string, unknown>) : undefined;
      }, 20_000, '/ready');
      expect(ready).toMatchObject({ status: 'ready', input: 'ready', output: 'ready' });

      const first = await until(async () => {
        const t = await (await fetch(`${base}/metrics`)).text();
        return metricValue(t, 'msg_sent_counter') > 0 && metricValue(t, 'msg_incoming_received', 'service="modelbreaches"') > 0 ? t : undefined;
      }, 30_000, 'metrics with traffic');
      for (const name of ['vendor_requests', 'msg_incoming_received', 'msg_incoming_removed', 'msg_incoming_filtered',
        'msg_enqueued_standard_counter', 'msg_enqueued_standard_bytes', 'msg_enqueued_lookup_counter', 'msg_enqueued_internal_counter',
        'msg_sent_counter', 'msg_sent_bytes', 'module_global_status', 'cursor_lag_seconds', 'worker_restarts', 'pull_errors']) {
        expect(first, name).toContain(`# TYPE ${name} `);
      }
      expect(metricValue(first, 'vendor_requests')).toBeGreaterThan(0);
      expect(metricValue(first, 'msg_enqueued_standard_counter')).toBeGreaterThan(0);
      expect(metricValue(first, 'module_global_status')).toBe(1);
      expect(first).toMatch(/^cursor_lag_seconds\{service="modelbreaches"\} \d/m);

      // New breaches on the appliance: the counters advance on the next pulls.
      const sentBefore = metricValue(first, 'msg_sent_counter');
      const receivedBefore = metricValue(first, 'msg_incoming_received', 'service="modelbreaches"');
      for (let i = 0; i < 3; i++) sim.addModelBreach();
      await until(async () => {
        const t = await (await fetch(`${base}/metrics`)).text();
        return metricValue(t, 'msg_incoming_received', 'service="modelbreaches"') >= receivedBefore + 3 &&
          metricValue(t, 'msg_sent_counter') > sentBefore ? t : undefined;
      }, 30_000, 'counters moving');

      expect((await fetch(`${base}/nope`)).status).toBe(404);
      const all = await (await fetch(`${base}/metrics`)).text();
      expect(all).not.toContain(PUB);
      expect(all).not.toContain(PRIV);
      for (const p of ['MainProcess', 'InputProcess', 'OutputProcess']) {
        const gc = new RegExp(`INFO ${p}::MainThread -> \\[GC\\] global: [\\d.]+% -> [\\d.]+%, process: RSS\\([\\d.]+MiB -> [\\d.]+MiB\\), VMS\\(`);
        expect(c.lines.some((l) => gc.test(l)), `[GC] line of ${p}`).toBe(true);
      }
      expect(c.output()).toContain('[METRIC] Counter "vendor_requests" created');
    } finally {
      c.proc.kill('SIGTERM');
      expect((await c.exit).code).toBe(0);
    }
  });

  it('--validate passes with good tokens and exits 0', async () => {
    const dir = makeWorkspace();
    writeConfig(dir, baseConfig(sim.url));
    const c = runCollector(dir, { args: ['--config', 'config.yaml', '--validate'] });
    expect((await c.exit).code).toBe(0);
    expect(c.output()).toContain('Validation of service modelbreaches: OK');
    expect(c.output()).toContain('Validation of service summarystatistics: OK');
    expect(c.output()).toContain('Validation of output console_1: OK');
    expect(c.output()).toMatch(/Validation finished: 3 passed, 0 failed/);
  });

  it('--validate with a wrong private token prints SetupError(101) and exits non-zero', async () => {
    const dir = makeWorkspace();
    const cfg = baseConfig(sim.url);
    cfg.inputs.darktrace.credentials.private_token = 'wrong-private-token-000000000000';
    writeConfig(dir, cfg);
    const c = runCollector(dir, { args: ['--config', 'config.yaml', '--validate'] });
    expect((await c.exit).code).toBe(1);
    expect(c.output()).toMatch(/Validation of service modelbreaches: FAILED SetupError\(101\): The tokens provided are incorrect/);
    expect(c.output()).not.toContain('wrong-private-token-000000000000');
    expect(c.output()).not.toContain(PUB);
  });
});
