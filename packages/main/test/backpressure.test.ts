/**
 * A full spool pauses the pullers instead of dropping: with the relay down and a 2 MiB spool, the
 * collector stops asking the appliance for more once the spool is full; when the relay comes up,
 * every record the simulator served arrives. Meanwhile readiness says so: the output is blocked
 * (spool full, RuntimeError(514)) and /ready answers 503 until the relay takes the data.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startSimulator, type Simulator } from '@devo-collector/darktrace-sim';
import { dirBytes, freePort, sleep, startTcpReceiver, type TcpReceiver } from '@devo-collector/testkit';
import { PRIV, PUB, baseConfig, makeWorkspace, metricValue, runCollector, until, webBase, writeConfig } from './helpers/collector.js';

const START_MS = Math.floor((Date.now() - 3 * 3600_000) / 3600_000) * 3600_000;
let sim: Simulator;

beforeAll(async () => {
  // ~3,000 breaches of ~6 KB (~20 MB): far more than the 2 MiB spool plus the input's 8 MiB in-flight bound.
  sim = await startSimulator({ publicToken: PUB, privateToken: PRIV, seed: 9, modelBreachesPerHour: 1000, dataStartMs: START_MS });
});
afterAll(async () => {
  await sim.close();
});

describe('back-pressure', () => {
  it('pauses pulling while the spool is full and delivers everything once the relay is back', async () => {
    const port = await freePort();
    const dir = makeWorkspace();
    const cfg = baseConfig(sim.url);
    cfg.globals.queue_max_size_in_mb = 2;
    cfg.globals.web_service = { enabled: true, host: '127.0.0.1', port: 0 };
    cfg.outputs = { relay_1: { type: 'relay', config: { address: '127.0.0.1', port } } };
    cfg.inputs.darktrace.services = { modelbreaches: { start_time_in_utc_format: new Date(START_MS).toISOString().slice(0, 19), request_period_in_seconds: 1, override_time_window_interval_in_minutes: 5 } };
    writeConfig(dir, cfg);
    const c = runCollector(dir);
    const lines: string[] = [];
    let receiver: TcpReceiver | undefined;
    try {
      const base = await webBase(c);
      await c.waitFor(/Started all objects from "MainProcess" process/);
      // Let it fill the spool and stall.
      await vi.waitFor(async () => expect((await fetch(`${base}/ready`)).status).toBe(503), { timeout: 60_000, interval: 200 });
      await expect.poll(async () => metricValue(await (await fetch(`${base}/metrics`)).text(), 'output_state', 'output="relay_1",state="blocked"'), { timeout: 60_000, interval: 200 }).toBe(1);
      await c.waitFor(/Pulling paused/, 60_000);
      const requestsA = sim.requestLog().filter((r) => r.path === '/modelbreaches').length;
      await sleep(3000); // nothing may be requested for a while: the point of the test
      const requestsB = sim.requestLog().filter((r) => r.path === '/modelbreaches').length;
      const expected = sim.expectedIds('modelbreaches');
      expect(expected.length).toBeGreaterThan(2500);
      // Paused: no new window requested while the spool stays full, and far from all windows asked.
      expect(requestsB).toBe(requestsA);
      // 3+ h of 5-minute windows is 36+ windows; pulling stops after the in-flight bound (8 MiB),
      // the spool (2 MiB) and the windows fetched ahead (7) are used up.
      const windows = Math.ceil((Date.now() - START_MS) / 300_000);
      expect(windows).toBeGreaterThan(36);
      expect(requestsB).toBeLessThan(windows - 5);
      const spool = dirBytes(path.join(dir, 'state', 'spool'));
      expect(spool).toBeLessThan(4 * 1024 * 1024);
      const blocked = await fetch(`${base}/ready`);
      expect(blocked.status).toBe(503);
      const body = (await blocked.json()) as { reasons: Array<{ component: string; state: string; id: string; message: string }> };
      expect(body.reasons).toContainEqual(expect.objectContaining({ component: 'output:relay_1', state: 'blocked', id: 'RuntimeError(514)' }));
      expect(body.reasons.find((r) => r.component === 'output:relay_1')?.message).toMatch(/the spool is full/);
      const m = await (await fetch(`${base}/metrics`)).text();
      expect(metricValue(m, 'output_state', 'output="relay_1",state="blocked"')).toBe(1);
      expect(metricValue(m, 'spool_max_bytes', 'output="relay_1.standard"')).toBe(2 * 1024 * 1024);
      expect(metricValue(m, 'module_global_status')).toBe(0);

      receiver = await startTcpReceiver(port, lines);
      let ids: string[] = [];
      await vi.waitFor(() => {
        ids = lines.filter((l) => l.includes(' edr.darktrace.respond.model_breach: '))
          .map((l) => String((JSON.parse(l.slice(l.indexOf(': {') + 2)) as { pbid: number }).pbid));
        const seen = new Set(ids);
        expect(expected.filter((id) => !seen.has(id))).toEqual([]);
      }, { timeout: 120_000, interval: 500 });
      const got = new Set(ids);
      const duplicates = ids.length - got.size;
      // At-least-once: only the unconfirmed tail of a connection may be re-sent.
      expect(duplicates).toBeLessThanOrEqual(Math.ceil(expected.length * 0.05));
      // The spool drained: the output is ok again, and so is readiness.
      await until(async () => ((await fetch(`${base}/ready`)).status === 200 ? true : undefined), 30_000, '/ready 200 after the relay is back');
      expect(metricValue(await (await fetch(`${base}/metrics`)).text(), 'output_state', 'output="relay_1",state="ok"')).toBe(1);
    } finally {
      c.proc.kill('SIGTERM');
      expect((await c.exit).code).toBe(0);
      await receiver?.stop();
    }
  }, 180_000);
});
