/**
 * The devices lookup end to end: the real collector (dist/main.js) with `services.devices` and a
 * 2 s period pulls the real simulator, whose inventory changes with its clock, and sends to a real
 * mutual-TLS receiver. First a FULL with every device (START, one line per device, END, one id),
 * then, once the clock moved, an INC with exactly the devices that changed or appeared and DELETE
 * rows for those gone; the bytes are the line encoder's (tested against the SDK's captures). After
 * a restart with an unchanged inventory nothing is sent (no second FULL); after a change, an INC.
 *
 * The simulator checks DTAPI-Date within 30 minutes of its clock, so its clock moves within
 * [-25, +25] minutes of now; its schedule is shifted (dataStartMs) so that a device leaves the
 * answer (lastSeen older than the default 7-day `seensince`) inside that range.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator, type SimRecord } from '@devo-collector/darktrace-sim';
import { DEVICE_COLUMNS, deviceRow } from '../../input/src/pullers/device-inventory.js';
import { lookupJobLines } from '../../output/src/lookup-format.js';
import { generateTestCerts, type TestCerts, startTlsReceiver, type TlsReceiver } from '@devo-collector/testkit';
import { PRIV, PUB, baseConfig, makeWorkspace, runCollector, until, writeConfig, type RunningCollector } from './helpers/collector.js';

const MINUTE = 60_000;
const WEEK = 7 * 24 * 60 * MINUTE;
const DEVICES = 120;
const SEED = 11;
const LOOKUP_LINE = /^<14>Jan {2}1 00:00:00 (\S+) (my\.lookup\.\S+): ([\d.]+)_darktrace_devices\|(.*)$/;

/** What /devices (default seensince, 7 days) answers at `at`, as lookup rows by did. */
function answer(s: Simulator, at: number): Map<string, string[]> {
  const rows = s.deviceInventory(at).filter((d: SimRecord) => (d['lastSeen'] as number) >= at - WEEK).map((d) => deviceRow(d)!);
  return new Map(rows.map((r) => [r[0]!, r]));
}

function diff(prev: Map<string, string[]>, next: Map<string, string[]>): { upserts: string[][]; deletes: string[][] } {
  const upserts = [...next.values()].filter((r) => JSON.stringify(prev.get(r[0]!)) !== JSON.stringify(r));
  const deletes = [...prev.values()].filter((r) => !next.has(r[0]!));
  return { upserts, deletes };
}

/** The lookup lines the receiver holds (internal log lines travel on another connection). */
function lookupLines(r: TlsReceiver): string[] {
  return r.text().split('\n').filter((l) => LOOKUP_LINE.test(l)).map((l) => `${l}\n`);
}

/** The uploads received, split at each control END. */
function uploads(r: TlsReceiver): string[][] {
  const out: string[][] = [];
  let cur: string[] = [];
  for (const l of lookupLines(r)) {
    cur.push(l);
    if (/ my\.lookup\.control\.darktrace_devices\.(FULL|INC): [\d.]+_darktrace_devices\|END\|/.test(l)) {
      out.push(cur);
      cur = [];
    }
  }
  return out;
}

/** The encoder's bytes for these rows, with the id and host name the collector used. */
function expectedUpload(received: string[], action: 'FULL' | 'INC', d: { upserts: string[][]; deletes: string[][] }): string[] {
  const m = LOOKUP_LINE.exec(received[0]!.slice(0, -1))!;
  return lookupJobLines(
    { name: 'darktrace_devices', action, lookupId: m[3]!, columns: [...DEVICE_COLUMNS], keyIndex: 0, upserts: d.upserts, deletes: d.deletes },
    m[1]!,
  );
}

let probe: Simulator;
let sim: Simulator;
let certs: TestCerts;
let receiver: TlsReceiver;
const t0 = Date.now() - 25 * MINUTE;
const t1 = t0 + 35 * MINUTE;
const t2 = t0 + 50 * MINUTE;

beforeAll(async () => {
  // Find a 35-minute span in which a device leaves the answer: the schedule is a function of
  // (time - dataStartMs), so the probe's span is moved onto [t0, t1] by shifting dataStartMs.
  const d0 = Date.UTC(2026, 0, 1);
  probe = await startSimulator({ publicToken: PUB, privateToken: PRIV, seed: SEED, devices: DEVICES, dataStartMs: d0 });
  let at: number | null = null;
  for (let t = d0 + 8 * 24 * 60 * MINUTE; t < d0 + 20 * 24 * 60 * MINUTE && at === null; t += 35 * MINUTE) {
    const d = diff(answer(probe, t), answer(probe, t + 35 * MINUTE));
    if (d.deletes.length > 0 && d.upserts.length > 0) at = t;
  }
  await probe.close();
  if (at === null) throw new Error('no span with a device leaving: change SEED or DEVICES');
  sim = await startSimulator({ publicToken: PUB, privateToken: PRIV, seed: SEED, devices: DEVICES, dataStartMs: d0 + (t0 - at) });
  sim.setNow(t0);
  certs = generateTestCerts();
  receiver = await startTlsReceiver(certs);
});
afterAll(async () => {
  await sim?.close();
  await receiver?.stop();
});

function start(dir: string): RunningCollector {
  return runCollector(dir);
}

describe('devices lookup, end to end', () => {
  it('FULL, then INC with the changes and DELETE rows; after a restart nothing resent, then an INC', async () => {
    const dir = makeWorkspace();
    const cfg = baseConfig(sim.url);
    cfg.inputs.darktrace.services = { devices: { request_period_in_seconds: 2 } };
    cfg.outputs = {
      devo_1: {
        type: 'devo_platform',
        config: { address: '127.0.0.1', port: receiver.port, chain: certs.caPath, cert: certs.clientCertPath, key: certs.clientKeyPath },
      },
    };
    writeConfig(dir, cfg);
    const a0 = answer(sim, t0);
    const a1 = answer(sim, t1);
    const a2 = answer(sim, t2);
    const d01 = diff(a0, a1);
    const d12 = diff(a1, a2);
    expect(a0.size).toBeGreaterThan(50);
    expect(d01.deletes.length).toBeGreaterThan(0);
    expect(d01.upserts.length).toBeGreaterThan(0);
    expect(d12.upserts.length).toBeGreaterThan(0);

    let c = start(dir);
    try {
      // 1. FULL: every device, one lookup id, START first and END last.
      const full = await until(() => uploads(receiver)[0], 60_000, 'the FULL upload', () => c.output().slice(-3000));
      expect(full).toEqual(expectedUpload(full, 'FULL', { upserts: [...a0.values()], deletes: [] }));
      expect(full).toHaveLength(a0.size + 2);
      expect(new Set(full.map((l) => LOOKUP_LINE.exec(l.slice(0, -1))![3])).size).toBe(1);
      expect(full[0]).toMatch(/ my\.lookup\.control\.darktrace_devices\.FULL: [\d.]+_darktrace_devices\|START\|\[\{"did":\{"type":"str","key":true\}\},\{"ip":\{"type":"str"\}\},/);

      // An unchanged inventory sends nothing on the next pulls.
      await c.waitFor(/LookupServicePuller\(darktrace#10001,devices#predefined\) -> .*the inventory is unchanged, no lookup sent/, 30_000);
      expect(uploads(receiver)).toHaveLength(1);

      // 2. The clock moves: an INC with exactly the changed/new devices and the gone ones as DELETE rows.
      sim.setNow(t1);
      const inc = await until(() => uploads(receiver)[1], 60_000, 'the INC upload', () => c.output().slice(-3000));
      expect(inc).toEqual(expectedUpload(inc, 'INC', d01));
      expect(inc.filter((l) => / my\.lookup\.data\.darktrace_devices\.DELETE: /.test(l))).toHaveLength(d01.deletes.length);
      await c.waitFor(/The lookup darktrace_devices \(id [\d.]+\) is durable in the output; the inventory of \d+ devices is committed/);
      await until(() => (c.lines.filter((l) => /is committed/.test(l)).length >= 2 ? true : undefined), 30_000, 'the INC commit');
    } finally {
      expect((await c.stop()).code).toBe(0);
    }

    // 3. Restart, inventory unchanged: no second FULL, nothing at all.
    const before = lookupLines(receiver).length;
    c = start(dir);
    try {
      await c.waitFor(/the inventory is unchanged, no lookup sent/, 60_000);
      await until(() => (c.lines.filter((l) => /the inventory is unchanged/.test(l)).length >= 2 ? true : undefined), 30_000, 'a second unchanged pull');
      expect(lookupLines(receiver)).toHaveLength(before);

      // 4. Then a change: an INC with exactly it.
      sim.setNow(t2);
      const inc2 = await until(() => uploads(receiver)[2], 60_000, 'the INC after the restart', () => c.output().slice(-3000));
      expect(inc2).toEqual(expectedUpload(inc2, 'INC', d12));
      expect(uploads(receiver)).toHaveLength(3);
      expect(c.output()).not.toMatch(/FULL with/);
    } finally {
      expect((await c.stop()).code).toBe(0);
    }
  }, 240_000);
});
