/**
 * A Devo endpoint that accepts the TLS connection and never reads (issue 11): the collector must
 * report the stall (OutputError(405)) and lose nothing. A backlog of thousands of breaches (~6 KB
 * each, tens of MB) waits in the spool while the stalled endpoint's kernel takes what fits in its
 * receive buffer. Then either
 *  - the endpoint is replaced by a working one on the same port (the stalled one is reset, what
 *    its buffers held is gone): every breach must arrive;
 *  - or the stalled endpoint recovers and reads what its buffers held, and the collector re-sends
 *    what it never confirmed: every breach arrives, the duplicates are what a stall costs.
 * Real collector (dist/main.js), real simulator over HTTP, real mutual-TLS receiver.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '@devo-collector/darktrace-sim';
import { type Collector, freePort, makeWorkspace, settles, sleep, startTlsReceiver, type TestCerts, type TlsReceiver, writeConfig } from '@devo-collector/testkit';
import {
  artifactsRoot, collectorConfig, duplicates, HOUR, makeCerts, PRIV, PUB, readState, recordFigure, runCollector, scanArtifacts, teardown, tlsOutput,
} from './helpers.js';

const STALL_S = 5;
const PER_HOUR = 500;
const HOURS = 12;

let root: string;
let certs: TestCerts;
const texts: Array<{ name: string; text: string }> = [];
beforeAll(() => {
  root = artifactsRoot('stall');
  certs = makeCerts(root);
});
afterAll(() => {
  scanArtifacts('stall', root, texts, certs);
});

/** Polls /ready until `pred` holds (or the time is up); returns the last answer. */
async function readyUntil(port: number, pred: (r: { status: number; body: string }) => boolean, timeoutMs: number): Promise<{ status: number; body: string }> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const res = await fetch(`http://127.0.0.1:${port}/ready`).catch(() => null);
    const r = { status: res?.status ?? 0, body: res ? await res.text() : '' };
    if (pred(r) || Date.now() > end) return r;
    await sleep(200);
  }
}

async function stall(mode: 'replaced' | 'recovers'): Promise<void> {
  const startMs = Math.floor((Date.now() - HOURS * HOUR) / 1000) * 1000;
  const sim: Simulator = await startSimulator({ publicToken: PUB, privateToken: PRIV, seed: 77, dataStartMs: startMs, modelBreachesPerHour: PER_HOUR });
  const staller = await startTlsReceiver(certs, 0, { neverRead: true });
  const port = staller.port;
  let rx: TlsReceiver = staller;
  const ws = makeWorkspace(path.join(root, `stall-${mode}`));
  const webPort = await freePort();
  const outputs = tlsOutput(port, certs);
  outputs['devo_1'].config.stall_timeout_in_seconds = STALL_S;
  writeConfig(ws, collectorConfig({
    simUrl: sim.url,
    services: { modelbreaches: { start_time_in_utc_format: new Date(startMs).toISOString().slice(0, 19), request_period_in_seconds: 2 } },
    outputs,
    globals: { web_service: { enabled: true, host: '127.0.0.1', port: webPort } },
  }));
  const c: Collector = runCollector(ws);
  try {
    const t0 = Date.now();
    const stallLine = await c.waitFor(/DevoSender\(standard_senders,devo_sender_0\) -> OutputError\(405\): /, 90_000);
    const tStall = Date.now();
    // The whole backlog is pulled and spooled while the endpoint stalls.
    await c.waitFor(/modelbreaches#predefined\) -> Received response, messages/, 120_000);
    const cursor = readState(ws, 'modelbreaches')?.['cursor_ms'] as number;
    const expected = sim.expectedIds('modelbreaches', cursor);
    // Readiness tells the truth: 503 naming the stall while the endpoint takes nothing.
    const stalledReady = await readyUntil(webPort, (r) => r.status === 503 && r.body.includes('OutputError(405)'), 30_000);
    texts.push({ name: '/ready while stalled', text: stalledReady.body });
    const stalledConnections = staller.connections;
    const deliveredToStaller = staller.ids.size;
    const tRepair = Date.now();
    if (mode === 'replaced') {
      await staller.stop();
      rx = await startTlsReceiver(certs, port);
    } else {
      staller.startReading();
    }
    // Reconnect backoff after repeated stalls can reach tens of seconds: allow a full cap + the drain.
    const ok = await settles(() => expected.every((id) => rx.ids.has(id)), 180_000, 200);
    const tAll = Date.now();
    const recoveredReady = await readyUntil(webPort, (r) => r.status === 200, 30_000);
    texts.push({ name: '/ready after recovery', text: recoveredReady.body });
    const missing = expected.filter((id) => !rx.ids.has(id));
    const stallLines = c.lines.filter((l) => /OutputError\(405\)/.test(l));
    const fig = {
      mode, expected: expected.length, delivered: rx.ids.size, missing: missing.length, duplicates: duplicates(rx.ids),
      duplicatePct: +((100 * duplicates(rx.ids)) / Math.max(1, expected.length)).toFixed(3),
      stallDetectedAfterS: (tStall - t0) / 1000, stallLines: stallLines.length, stalledConnections,
      deliveredToStallerBeforeRepair: deliveredToStaller, caughtUpAfterRepairS: (tAll - tRepair) / 1000,
      readyWhileStalled: { status: stalledReady.status, body: stalledReady.body.slice(0, 400) },
      readyAfterRecovery: { status: recoveredReady.status, afterS: (Date.now() - tAll) / 1000 },
      firstStallLine: stallLine.replace(/^.*? -> /, '').slice(0, 300),
    };
    recordFigure(`stall ${mode}`, fig);
    expect(stallLine).toMatch(new RegExp(`OutputError\\(405\\): 127\\.0\\.0\\.1:${port} accepted no data for \\d+ s`));
    expect(expected.length).toBeGreaterThan(HOURS * PER_HOUR * 0.8);
    expect(stalledReady.status).toBe(503);
    expect(stalledReady.body).toMatch(/OutputError\(405\)/);
    expect(stalledReady.body).toMatch(/accepted no data for \d+ s/);
    expect(recoveredReady.status).toBe(200);
    expect(ok).toBe(true);
    expect(missing.slice(0, 20)).toEqual([]);
    if (mode === 'replaced') {
      // Nothing the stalled endpoint took was confirmed, so the new one gets every breach once.
      expect(duplicates(rx.ids)).toBe(0);
    }
    expect((await c.stop()).code).toBe(0);
  } finally {
    await teardown(c, rx, staller, sim);
  }
}

describe('a Devo endpoint that accepts TLS and never reads', () => {
  it('replaced by a working endpoint: every breach delivered, none lost', async () => stall('replaced'), 420_000);
  it('the stalled endpoint recovers and reads its buffers: every breach delivered, duplicates counted', async () => stall('recovers'), 420_000);
});
