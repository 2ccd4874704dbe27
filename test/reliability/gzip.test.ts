/**
 * `compression: gzip` end to end: the real collector (dist/main.js) pulls a backfill from the
 * simulator and sends gzip members; the receiver inflates them (packages/testkit wire-decoder.ts, as Devo does).
 *  1. devo_platform over mutual TLS: exactly the served breaches arrive, each once; nothing came
 *     plain; the wire carried fewer bytes than the lines it delivered.
 *  2. the same, with kill -9 of the output worker at random moments: nothing missing, duplicates
 *     within the bound RELIABILITY.md states for plain lines, which is in bytes on the wire: per
 *     output crash the frames (here: members) the receiver had not confirmed, at most the drain
 *     margin + our unacknowledged send queue + the writes between two reads of it, plus one window
 *     if the kill interrupts a spool write (kill9.test.ts).
 * KILL_SEED overrides the seed of 2.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '@devo-collector/darktrace-sim';
import { type Collector, makeWorkspace, settles, sleep, startTlsReceiver, type TestCerts, type TlsReceiver, writeConfig } from '@devo-collector/testkit';
import {
  artifactsRoot, collectorConfig, duplicates, HOUR, makeCerts, PEER_RECEIVE_BUFFER, POLL_WRITES, PRIV, PUB, readState, RECORD_TAG, recordFigure,
  runCollector, scanArtifacts, seededRng, sendBufferMax, teardown, tlsOutput,
} from './helpers.js';

const SEED = Number(process.env['KILL_SEED'] ?? Date.now() % 1_000_000);
const DONE = /modelbreaches#predefined\) -> Received response, messages/;

let root: string;
let certs: TestCerts;
beforeAll(() => {
  root = artifactsRoot('gzip');
  certs = makeCerts(root);
  console.log(`[reliability] gzip kill seed=${SEED} (rerun with KILL_SEED=${SEED})`);
});
afterAll(() => {
  scanArtifacts('gzip', root, [], certs);
});

function gzip(outputs: Record<string, any>): Record<string, any> {
  for (const o of Object.values(outputs)) o.config.compression = 'gzip';
  return outputs;
}


const lineBytes = (rx: TlsReceiver): number => rx.lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);

/** The most records any one hour of the simulator's history holds (a window is one hour). */
function maxRecordsPerHour(sim: Simulator, startMs: number, endMs: number): number {
  let max = 0;
  let prev = 0;
  for (let t = startMs + HOUR; t <= endMs + HOUR; t += HOUR) {
    const n = sim.expectedIds('modelbreaches', t).length;
    max = Math.max(max, n - prev);
    prev = n;
  }
  return max;
}

describe('compression: gzip, end to end', () => {
  it('devo_platform over mutual TLS: exactly the served breaches, each once, all inside gzip members', async () => {
    const startMs = Math.floor((Date.now() - 3 * 24 * HOUR) / 1000) * 1000;
    const sim = await startSimulator({ publicToken: PUB, privateToken: PRIV, seed: 66, dataStartMs: startMs, modelBreachesPerHour: 30 });
    const rx = await startTlsReceiver(certs);
    const ws = makeWorkspace(path.join(root, 'tls'));
    writeConfig(ws, collectorConfig({
      simUrl: sim.url,
      services: { modelbreaches: { start_time_in_utc_format: new Date(startMs).toISOString().slice(0, 19), request_period_in_seconds: 5 } },
      outputs: gzip(tlsOutput(rx.port, certs)),
      globals: { sender_stats_period_in_sec: 2 },
    }));
    const c = runCollector(ws);
    try {
      await c.waitFor(DONE, 120_000);
      const cursor = readState(ws, 'modelbreaches')?.['cursor_ms'] as number;
      const expected = sim.expectedIds('modelbreaches', cursor);
      await settles(() => expected.every((id) => rx.ids.has(id)), 60_000, 100);
      // The internal group is compressed too: its metric message arrives inside a member.
      await settles(() => rx.lines.some((l) => l.includes(' devo.collector.metric.message_sent: ')), 20_000, 100);
      expect((await c.stop()).code).toBe(0);
      const fig = {
        expected: expected.length, delivered: rx.ids.size, duplicates: duplicates(rx.ids), members: rx.members, plainLines: rx.plainLines,
        wireBytes: rx.wireBytes, lineBytes: lineBytes(rx), ratio: +(rx.wireBytes / lineBytes(rx)).toFixed(3), connections: rx.connections,
      };
      recordFigure('gzip mutual TLS', fig);
      expect(expected.length).toBeGreaterThan(1_500);
      expect([...rx.ids.keys()].sort()).toEqual([...expected].sort());
      expect(duplicates(rx.ids)).toBe(0);
      expect(rx.decodeErrors).toEqual([]);
      expect(rx.plainLines).toBe(0);
      expect(rx.members).toBeGreaterThan(10);
      expect(rx.lines.some((l) => l.includes(' devo.collector.metric.message_sent: '))).toBe(true);
      // The wire carried members (TLS payload bytes), a fraction of the lines they inflate to.
      expect(rx.wireBytes).toBeLessThan(lineBytes(rx) / 2);
      expect(c.lines.some((l) => l.includes('DevoSenderManager(standard_senders,manager,devo_1) -> Frames are sent as gzip members (zlib level 6)'))).toBe(true);
    } finally {
      await teardown(c, rx, sim);
    }
  }, 240_000);

  it(`mutual TLS, kill -9 of the output worker at random moments (seed ${SEED}): nothing missing, re-sent bytes bounded as for plain lines`, async () => {
    const rng = seededRng(SEED);
    const KILLS = 5;
    const startMs = Math.floor((Date.now() - 60 * 24 * HOUR) / 1000) * 1000;
    const sim = await startSimulator({ publicToken: PUB, privateToken: PRIV, seed: SEED, dataStartMs: startMs, modelBreachesPerHour: 20, latencyMs: 30 });
    const rx = await startTlsReceiver(certs);
    const ws = makeWorkspace(path.join(root, 'kill'));
    writeConfig(ws, collectorConfig({
      simUrl: sim.url,
      services: { modelbreaches: { start_time_in_utc_format: new Date(startMs).toISOString().slice(0, 19), request_period_in_seconds: 5 } },
      outputs: gzip(tlsOutput(rx.port, certs)),
    }));
    const c: Collector = runCollector(ws);
    const kills: Array<{ n: number; atDelivered: number; members: number }> = [];
    try {
      await c.waitFor(/Started all objects from "MainProcess" process/, 30_000);
      // Kills while members flow: from the first delivered record on.
      await settles(() => rx.ids.size > 0, 60_000, 20);
      for (let k = 0; k < KILLS; k++) {
        await sleep(300 + Math.floor(rng() * 1500));
        kills.push({ n: k + 1, atDelivered: rx.ids.size, members: rx.members });
        const from = c.lines.length;
        const pid = c.pids().output;
        expect(pid).toBeTruthy();
        process.kill(pid!, 'SIGKILL');
        await c.waitFor(/OutputProcess restarted and ready/, 60_000, from);
      }
      await c.waitFor(DONE, 240_000);
      const cursor = readState(ws, 'modelbreaches')?.['cursor_ms'] as number;
      const expected = sim.expectedIds('modelbreaches', cursor);
      await settles(() => expected.every((id) => rx.ids.has(id)), 60_000, 200);
      const missing = expected.filter((id) => !rx.ids.has(id));
      const dups = duplicates(rx.ids);
      const maxPerWindow = maxRecordsPerHour(sim, startMs, cursor);
      // Re-sent members, in wire bytes: a member whose records had all arrived before. (A member
      // is re-sent whole: the spool's positions are member boundaries.)
      const seen = new Set<string>();
      let dupWireBytes = 0;
      let dupMembers = 0;
      for (const m of rx.memberLog) {
        if (m.ids.length > 0 && m.ids.every((id) => seen.has(id))) {
          dupWireBytes += m.wireBytes;
          dupMembers++;
        }
        for (const id of m.ids) seen.add(id);
      }
      const maxLine = Math.max(...rx.lines.filter((l) => l.includes(RECORD_TAG)).map((l) => Buffer.byteLength(l) + 1));
      const perCrashBytes = PEER_RECEIVE_BUFFER + sendBufferMax() + POLL_WRITES + maxPerWindow * maxLine;
      const fig = {
        seed: SEED, kills, expected: expected.length, delivered: rx.ids.size, missing: missing.length, duplicates: dups,
        duplicatePct: +((100 * dups) / expected.length).toFixed(1), dupMembers, dupWireBytes, perCrashBytes, boundBytes: KILLS * perCrashBytes,
        members: rx.members, plainLines: rx.plainLines, connections: rx.connections, wireBytes: rx.wireBytes, ratio: +(rx.wireBytes / lineBytes(rx)).toFixed(3),
      };
      recordFigure('gzip kill -9 output', fig);
      expect(missing.slice(0, 20)).toEqual([]);
      // A member cut by the crash is dropped by the receiver (not a decoding error), re-sent whole.
      expect(rx.decodeErrors).toEqual([]);
      expect(rx.plainLines).toBe(0);
      // Every duplicate record came in a re-sent member, and those members stay within the bound.
      expect(rx.memberLog.reduce((n, m) => n + m.ids.length, 0)).toBe(expected.length + dups);
      expect(dupWireBytes).toBeLessThanOrEqual(KILLS * perCrashBytes);
      expect((await c.stop()).code).toBe(0);
    } finally {
      await teardown(c, rx, sim);
    }
  }, 480_000);
});
