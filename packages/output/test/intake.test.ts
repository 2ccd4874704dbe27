/**
 * The intake's replay filter (the rest of the protocol runs in output-service.test.ts and
 * lookup-output.test.ts through a real service): rows of batch + ledger -> what is spooled.
 */
import { describe, expect, it } from 'vitest';
import { recordTexts, textRecords, type EventBatch } from '@devo-collector/common';
import { withoutDurable } from '../src/intake.js';

const batch = (replay: boolean, keys?: string[]): EventBatch => ({
  batchId: 'status:1',
  group: 'standard',
  inputName: 'darktrace',
  serviceName: 'status',
  tag: 'edr.darktrace.respond.status',
  ...textRecords(['{"n":1}', '{"n":22}', '{"n":333}']),
  createdAtMs: 0,
  ...(keys ? { keys } : {}),
  replay,
});

describe('withoutDurable: a replayed batch minus what the ledger holds', () => {
  const ledger = { has: (ns: string, key: string): boolean => ns === 'darktrace/status' && ['1', '3'].includes(key) };
  const rows: [string, EventBatch, string[], number][] = [
    ['not a replay: everything, even keys the ledger holds', batch(false, ['1', '2', '3']), ['{"n":1}', '{"n":22}', '{"n":333}'], 0],
    ['a replay without keys: everything', batch(true), ['{"n":1}', '{"n":22}', '{"n":333}'], 0],
    ['a replay: only the records the ledger does not hold', batch(true, ['1', '2', '3']), ['{"n":22}'], 2],
    ['a replay of keys it never saw: everything', batch(true, ['4', '5', '6']), ['{"n":1}', '{"n":22}', '{"n":333}'], 0],
    ['a replay it holds whole: nothing', batch(true, ['1', '3', '1']), [], 3],
  ];
  for (const [name, b, records, skipped] of rows) {
    it(name, () => {
      const got = withoutDurable(b, 'darktrace/status', ledger);
      expect(got.skipped).toBe(skipped);
      expect(recordTexts(got.kept)).toEqual(records);
      expect(got.kept.bytes).toBe(records.join('').length);
      if (b.keys) expect(got.kept.keys).toEqual(b.keys.filter((k) => !(b.replay && ledger.has('darktrace/status', k))));
      if (skipped === 0) expect(got.kept).toBe(b);
    });
  }
});
