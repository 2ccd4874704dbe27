/**
 * Every API fault kind of the simulator injected into a running collector (live tail, 1 s period):
 * the documented PullError id is logged, nothing is lost (every breach the simulator served up to
 * the final cursor reaches the relay receiver), and pulling recovers once the fault clears.
 * The definitions are overridden (--definitions) with max_retries 1 and a 3 s request timeout so a
 * hanging appliance is detected in seconds rather than minutes. Also scrapes /metrics and runs the
 * secret scan over everything this file produced.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify } from 'yaml';
import { startSimulator, type FaultKind, type Simulator } from '@devo-collector/darktrace-sim';
import { type Collector, freePort, repoRoot, makeWorkspace, settles, startTlsReceiver, type TlsReceiver, writeConfig } from '@devo-collector/testkit';
import {
  artifactsRoot, collectorConfig, HOUR, PRIV, PUB, readState, recordFigure, relayOutput, runCollector, scanArtifacts, teardown,
} from './helpers.js';

const FAULTS: Array<{ kind: FaultKind; id: number }> = [
  { kind: '500', id: 300 },
  { kind: '502-html', id: 300 },
  { kind: '429', id: 300 },
  { kind: 'truncated-json', id: 301 },
  { kind: 'html-login-200', id: 301 },
  { kind: 'hang', id: 301 },
  { kind: 'reset', id: 301 },
];

let root: string;
let sim: Simulator;
let rx: TlsReceiver;
let ws: string;
let c: Collector;
let webPort: number;
const texts: Array<{ name: string; text: string }> = [];

beforeAll(async () => {
  root = artifactsRoot('api-faults');
  // The simulator's data starts exactly at the collector's start time, so expectedIds() is the
  // set the collector must deliver.
  const startMs = Math.floor((Date.now() - HOUR) / 1000) * 1000;
  sim = await startSimulator({ publicToken: PUB, privateToken: PRIV, seed: 41, dataStartMs: startMs, modelBreachesPerHour: 120 });
  rx = await startTlsReceiver(null);
  ws = makeWorkspace(path.join(root, 'ws'));
  const defs = parseYaml(readFileSync(path.join(repoRoot, 'packages/darktrace/collector_definitions.yaml'), 'utf8')) as any;
  defs.collector_inputs.darktrace.module_globals.max_retries = 1;
  defs.collector_inputs.darktrace.module_globals.request_timeout_in_seconds = 3;
  writeFileSync(path.join(ws, 'config', 'definitions.yaml'), stringify(defs));
  webPort = await freePort();
  const start = new Date(startMs).toISOString().slice(0, 19);
  writeConfig(ws, collectorConfig({
    simUrl: sim.url,
    services: { modelbreaches: { start_time_in_utc_format: start, request_period_in_seconds: 1 } },
    outputs: relayOutput(rx.port),
    globals: { web_service: { enabled: true, host: '127.0.0.1', port: webPort } },
  }));
  c = runCollector(ws, ['--config', 'config.yaml', '--definitions', 'config/definitions.yaml']);
  await c.waitFor(/modelbreaches#predefined\) -> Received response, messages/, 60_000);
}, 90_000);

afterAll(async () => {
  if (c) expect((await c.stop()).code).toBe(0);
  await teardown(rx, sim);
  scanArtifacts('api-faults', root, texts);
}, 60_000);

describe('API faults during a running collector', () => {
  const table: Array<Record<string, unknown>> = [];
  for (const f of FAULTS) {
    it(`${f.kind}: logs PullError(${f.id}), loses nothing, recovers`, async () => {
      const from = c.lines.length;
      const added = [sim.addModelBreach(), sim.addModelBreach()].map((r) => String(r.pbid));
      const t0 = Date.now();
      // max_retries 1: two attempts per window, so a count of 2 fails the window once.
      sim.injectFault({ kind: f.kind, count: 2, endpoint: '/modelbreaches', retryAfterSec: 1 });
      const errLine = await c.waitFor(/modelbreaches#predefined\) -> PullError\(\d+\)/, 30_000, from);
      const tErr = Date.now();
      const id = Number(/PullError\((\d+)\)/.exec(errLine)![1]);
      // Recovery: a later cycle completes and the breaches added before the fault arrive.
      const idx = c.lines.indexOf(errLine);
      await c.waitFor(/modelbreaches#predefined\) -> Received response, messages/, 60_000, idx + 1);
      const delivered = await settles(() => added.every((a) => rx.ids.has(a)), 30_000);
      const row = { kind: f.kind, expectedId: f.id, loggedId: id, errorAfterS: (tErr - t0) / 1000, recoveredAfterS: (Date.now() - t0) / 1000, line: errLine.replace(/^.*? -> /, '').slice(0, 220) };
      table.push(row);
      recordFigure(`api-fault ${f.kind}`, row);
      expect(id).toBe(f.id);
      expect(delivered).toBe(true);
    }, 90_000);
  }

  it('nothing served up to the final cursor is missing; /metrics scraped', async () => {
    const cursor = readState(ws, 'modelbreaches')?.['cursor_ms'] as number;
    expect(cursor).toBeGreaterThan(0);
    const expected = sim.expectedIds('modelbreaches', cursor);
    await settles(() => expected.every((id) => rx.ids.has(id)), 30_000);
    const missing = expected.filter((id) => !rx.ids.has(id));
    let dups = 0;
    for (const n of rx.ids.values()) dups += n - 1;
    const metrics = await (await fetch(`http://127.0.0.1:${webPort}/metrics`)).text();
    texts.push({ name: '/metrics', text: metrics });
    recordFigure('api-faults conservation', { expected: expected.length, delivered: rx.ids.size, missing: missing.length, duplicates: dups, metricsBytes: metrics.length, pullErrorMetric: metrics.split('\n').filter((l) => /error/i.test(l) && !l.startsWith('#')).slice(0, 6) });
    expect(missing.slice(0, 20)).toEqual([]);
    expect(metrics.length).toBeGreaterThan(100);
    // Each fault kind was counted under the service and its documented id.
    expect(metrics).toMatch(/^pull_errors\{service="modelbreaches",error_id="300"\} [1-9]/m);
    expect(metrics).toMatch(/^pull_errors\{service="modelbreaches",error_id="301"\} [1-9]/m);
  }, 60_000);
});
