/**
 * TlsReceiver outages during live traffic (mutual TLS, 1 s request period, 5 new breaches per second):
 * the receiver is killed (live sockets destroyed, listener closed), stays down, then listens again
 * on the same port. Nothing the simulator served up to the final cursor may be missing.
 * Both outages (10 s and 2 min) run in every suite run.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '@devo-collector/darktrace-sim';
import { makeWorkspace, settles, sleep, startTlsReceiver, type TestCerts, writeConfig } from '@devo-collector/testkit';
import {
  artifactsRoot, collectorConfig, duplicates, HOUR, makeCerts, PRIV, PUB, readState, recordFigure, runCollector, scanArtifacts, teardown, tlsOutput,
} from './helpers.js';

let root: string;
let certs: TestCerts;
beforeAll(() => {
  root = artifactsRoot('outage');
  certs = makeCerts(root);
});
afterAll(() => {
  scanArtifacts('outage', root, [], certs);
});

async function outage(outageMs: number): Promise<void> {
  const startMs = Math.floor((Date.now() - 0.25 * HOUR) / 1000) * 1000;
  const sim: Simulator = await startSimulator({ publicToken: PUB, privateToken: PRIV, seed: 51, dataStartMs: startMs, modelBreachesPerHour: 60 });
  const rx = await startTlsReceiver(certs);
  const ws = makeWorkspace(path.join(root, `outage-${outageMs}`));
  writeConfig(ws, collectorConfig({
    simUrl: sim.url,
    services: { modelbreaches: { start_time_in_utc_format: new Date(startMs).toISOString().slice(0, 19), request_period_in_seconds: 1 } },
    outputs: tlsOutput(rx.port, certs),
  }));
  const c = runCollector(ws);
  let added = 0;
  const traffic = setInterval(() => {
    for (let i = 0; i < 5; i++) sim.addModelBreach();
    added += 5;
  }, 1000);
  try {
    await c.waitFor(/modelbreaches#predefined\) -> Received response, messages/, 60_000);
    await sleep(5_000);
    const before = rx.ids.size;
    await rx.stop();
    const tDown = Date.now();
    await sleep(outageMs);
    await rx.start();
    const tUp = Date.now();
    await sleep(5_000);
    clearInterval(traffic);
    // Let the live tail commit past the last added breach, then compare with the final cursor.
    await sleep(3_000);
    const cursor = readState(ws, 'modelbreaches')?.['cursor_ms'] as number;
    const expected = sim.expectedIds('modelbreaches', cursor);
    // Reconnect backoff doubles from 2 s up to 60 s: allow a full cap plus the drain.
    const ok = await settles(() => expected.every((id) => rx.ids.has(id)), 120_000, 200);
    const tAll = Date.now();
    const missing = expected.filter((id) => !rx.ids.has(id));
    const fig = {
      outageS: outageMs / 1000, added, expected: expected.length, deliveredBeforeOutage: before, delivered: rx.ids.size, missing: missing.length,
      duplicates: duplicates(rx.ids), duplicatePct: +((100 * duplicates(rx.ids)) / Math.max(1, expected.length)).toFixed(3),
      caughtUpAfterRestartS: (tAll - tUp) / 1000, downS: (tUp - tDown) / 1000, connections: rx.connections,
      connectFailureLines: c.lines.filter((l) => /OutputProcess/.test(l) && /(refused|ECONNREFUSED|reset|closed)/i.test(l)).length,
    };
    recordFigure(`receiver outage ${outageMs / 1000}s`, fig);
    expect(ok).toBe(true);
    expect(missing).toEqual([]);
    expect((await c.stop()).code).toBe(0);
  } finally {
    clearInterval(traffic);
    await teardown(c, rx, sim);
  }
}

describe('receiver outages during live traffic', () => {
  it('10 s outage: nothing lost', async () => outage(10_000), 240_000);
  it('2 min outage: nothing lost', async () => outage(120_000), 420_000);
});
