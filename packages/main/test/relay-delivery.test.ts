/**
 * End to end through a relay output (plain TCP) into a line-recording receiver: every breach the
 * simulator has is delivered exactly once in the documented line format, and the collector's own
 * log records from all three processes arrive through the internal senders.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '@devo-collector/darktrace-sim';
import { PRIV, PUB, baseConfig, makeWorkspace, runCollector, writeConfig } from './helpers/collector.js';
import { startTcpReceiver, type TcpReceiver } from '@devo-collector/testkit';

let sim: Simulator;
let receiver: TcpReceiver;
const lines: string[] = [];
let port = 0;
const START_MS = Math.floor((Date.now() - 3 * 3600_000) / 3600_000) * 3600_000;

beforeAll(async () => {
  // The simulator's history starts where the collector's backfill starts, so its oracle
  // (expectedIds) is exactly what must be delivered.
  sim = await startSimulator({ publicToken: PUB, privateToken: PRIV, seed: 5, modelBreachesPerHour: 8, lateCreatedShare: 0.3, dataStartMs: START_MS });
  receiver = await startTcpReceiver(0, lines);
  port = receiver.port;
});
afterAll(async () => {
  await sim.close();
  await receiver.stop();
});

const LINE = /^<14>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \S+ ([a-z0-9_.]+): (.*)$/;

describe('delivery through a relay output', () => {
  it('delivers every breach exactly once and ships internal log records of every process', async () => {
    const dir = makeWorkspace();
    const cfg = baseConfig(sim.url);
    cfg.outputs = { relay_1: { type: 'relay', config: { address: '127.0.0.1', port } } };
    writeConfig(dir, cfg);
    const c = runCollector(dir);
    expect(Date.parse(cfg.inputs.darktrace.services.modelbreaches.start_time_in_utc_format + 'Z')).toBe(START_MS);
    try {
      await c.waitFor(/Started all objects from "MainProcess" process/);
      const deadline = Date.now() + 30_000;
      let ids: string[] = [];
      let expected: string[] = [];
      for (;;) {
        expected = sim.expectedIds('modelbreaches');
        ids = lines.map((l) => LINE.exec(l)).filter((m) => m?.[1] === 'edr.darktrace.respond.model_breach')
          .map((m) => String((JSON.parse(m![2]!) as { pbid: number }).pbid));
        const internal = lines.filter((l) => LINE.exec(l)?.[1]?.startsWith('devo.collectors.out.local.'));
        const fromInput = internal.some((l) => l.includes('CollectorDarktracePullerSetup'));
        const fromMain = internal.some((l) => l.includes('Started all objects'));
        const delivered = new Set(ids);
        if ((expected.length > 0 && expected.every((id) => delivered.has(id)) && fromInput && fromMain) || Date.now() > deadline) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      // Every breach created since the start time, exactly once (the simulator's oracle); a breach
      // created after the snapshot may also be there, but nothing the simulator never served.
      expect(expected.length).toBeGreaterThan(10);
      expect(ids.length).toBe(new Set(ids).size);
      const delivered = new Set(ids);
      expect(expected.filter((id) => !delivered.has(id))).toEqual([]);
      const servedNow = new Set(sim.expectedIds('modelbreaches'));
      expect(ids.filter((id) => !servedNow.has(id))).toEqual([]);

      const internal = lines.filter((l) => LINE.exec(l)?.[1]?.startsWith('devo.collectors.out.local.'));
      expect(internal.some((l) => l.includes('CollectorDarktracePullerSetup')), 'InputProcess records').toBe(true);
      expect(internal.some((l) => l.includes('Started all objects')), 'MainProcess records').toBe(true);
      const body = JSON.parse(LINE.exec(internal[0]!)![2]!) as Record<string, unknown>;
      expect(body).toMatchObject({ level: expect.any(String), msg: expect.any(String), collector_version: expect.any(String) });
      expect(lines.join('\n')).not.toContain(PRIV);
      expect(lines.join('\n')).not.toContain(PUB);
    } finally {
      c.proc.kill('SIGTERM');
      expect((await c.exit).code).toBe(0);
    }

    // A restart over the same state and spool re-sends nothing that was already delivered:
    // cursors were committed and the spool checkpointed what the relay took.
    const before = lines.length;
    const idsBefore = new Set(lines.map((l) => LINE.exec(l)).filter((m) => m?.[1] === 'edr.darktrace.respond.model_breach')
      .map((m) => String((JSON.parse(m![2]!) as { pbid: number }).pbid)));
    const again = runCollector(dir);
    try {
      await again.waitFor(/Received response, messages\(total\/duplicated\)/);
      await new Promise((r) => setTimeout(r, 3000)); // time for anything re-sent to show: the point of the test
      const resent = lines.slice(before).map((l) => LINE.exec(l)).filter((m) => m?.[1] === 'edr.darktrace.respond.model_breach')
        .map((m) => String((JSON.parse(m![2]!) as { pbid: number }).pbid)).filter((id) => idsBefore.has(id));
      expect(resent).toEqual([]);
    } finally {
      again.proc.kill('SIGTERM');
      expect((await again.exit).code).toBe(0);
    }
  });
});
