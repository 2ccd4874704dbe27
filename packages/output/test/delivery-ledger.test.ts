import { appendFileSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '@devo-collector/common';
import { openDeliveryLedger } from '../src/ledger/delivery-ledger.js';

const logger = createLogger('LedgerTest');
const tmp = (): string => mkdtempSync(path.join(os.tmpdir(), 'ledger-'));

describe('delivery ledger', () => {
  it('remembers keys per namespace and survives a reopen (the state a kill -9 leaves)', () => {
    const dir = tmp();
    const a = openDeliveryLedger({ dir, logger });
    a.add('darktrace/modelbreaches', ['1', '2']);
    a.add('darktrace/antigena', ['1:99']);
    expect(a.has('darktrace/modelbreaches', '2')).toBe(true);
    expect(a.has('darktrace/antigena', '2')).toBe(false);
    // No close(): a crashed process never closes; the written lines must be enough.
    const b = openDeliveryLedger({ dir, logger });
    expect(b.has('darktrace/modelbreaches', '1')).toBe(true);
    expect(b.has('darktrace/antigena', '1:99')).toBe(true);
    expect(b.has('darktrace/modelbreaches', '3')).toBe(false);
    expect(statSync(path.join(dir, 'ledger.log')).mode & 0o777).toBe(0o600);
    a.close();
    b.close();
  });

  it('skips a line torn by a crash and keeps the rest', () => {
    const dir = tmp();
    const a = openDeliveryLedger({ dir, logger });
    a.add('ns', ['a', 'b']);
    a.close();
    appendFileSync(path.join(dir, 'ledger.log'), '["ns",["c","d"');
    const b = openDeliveryLedger({ dir, logger });
    expect(b.has('ns', 'a')).toBe(true);
    expect(b.has('ns', 'c')).toBe(false);
    b.add('ns', ['e']);
    b.close();
    // The open ended the torn line: the line written after it is not glued to it and lost.
    const c = openDeliveryLedger({ dir, logger });
    expect(c.has('ns', 'e')).toBe(true);
    const lines = readFileSync(path.join(dir, 'ledger.log'), 'utf8').split('\n').filter(Boolean);
    // Not counting the section headers each open writes.
    expect(lines.filter((l) => !l.startsWith('["@"'))).toHaveLength(3);
    c.close();
  });

  it('forgets the oldest keys beyond its capacity and rotates its file', () => {
    const dir = tmp();
    const l = openDeliveryLedger({ dir, logger, capacity: 3, maxFileBytes: 40 });
    l.add('ns', ['1', '2']);
    l.add('ns', ['3', '4']);
    expect(l.size).toBe(3);
    expect(l.has('ns', '1')).toBe(false);
    expect(l.has('ns', '4')).toBe(true);
    for (let i = 5; i < 20; i++) l.add('ns', [String(i)]);
    l.close();
    // Two files at most, each around maxFileBytes: the disk use is bounded.
    expect(statSync(path.join(dir, 'ledger.log')).size).toBeLessThanOrEqual(80);
    const again = openDeliveryLedger({ dir, logger, capacity: 3 });
    expect(again.has('ns', '19')).toBe(true);
    expect(again.has('ns', '2')).toBe(false);
    again.close();
  });

  describe('pending keys (frames written, fsync not done yet)', () => {
    const boot = Buffer.alloc(16, 1);
    const otherBoot = Buffer.alloc(16, 2);

    it('count after a crash on the same boot, not after a reboot unless confirmed durable', () => {
      const dir = tmp();
      const a = openDeliveryLedger({ dir, logger, bootId: boot });
      const p1 = a.pending('ns', ['1', '2']);
      // Not for `has` while running: the append is not durable yet.
      expect(a.has('ns', '1')).toBe(false);
      const p2 = a.pending('ns', ['3']);
      a.add('ns', ['3'], p2);
      expect(a.has('ns', '3')).toBe(true);
      expect(p1).not.toBe(p2);
      // No close(): the crash. Same kernel: the page cache holds the frames, the keys count.
      const same = openDeliveryLedger({ dir, logger, bootId: boot });
      expect(['1', '2', '3'].map((k) => same.has('ns', k))).toEqual([true, true, true]);
      same.close();
      // After a reboot only the confirmed batch counts.
      const rebooted = openDeliveryLedger({ dir, logger, bootId: otherBoot });
      expect(['1', '2', '3'].map((k) => rebooted.has('ns', k))).toEqual([false, false, true]);
      rebooted.close();
      a.close();
    });

    it('a revoked batch never counts; the sections of two runs on one boot keep their ids apart', () => {
      const dir = tmp();
      const first = openDeliveryLedger({ dir, logger, bootId: boot });
      first.pending('ns', ['a']); // id 1 of the first run, never confirmed (crash)
      const second = openDeliveryLedger({ dir, logger, bootId: boot });
      const id = second.pending('ns', ['b']); // id 1 again, in the second run's section
      second.revoke(id);
      const third = openDeliveryLedger({ dir, logger, bootId: boot });
      expect(third.has('ns', 'a')).toBe(true);
      expect(third.has('ns', 'b')).toBe(false);
      for (const l of [first, second, third]) l.close();
    });

    it('a confirmation after a rotation still confirms; lines of earlier versions are still read', () => {
      const dir = tmp();
      appendFileSync(path.join(dir, 'ledger.log'), '["ns",["old"]]\n');
      const a = openDeliveryLedger({ dir, logger, bootId: boot, maxFileBytes: 200 });
      const id = a.pending('ns', ['x'.repeat(150)]); // past maxFileBytes: the file rotates
      expect(readFileSync(path.join(dir, 'ledger.prev.log'), 'utf8')).toContain('"?"');
      a.add('ns', ['x'.repeat(150)], id);
      a.close();
      const rebooted = openDeliveryLedger({ dir, logger, bootId: otherBoot });
      expect(rebooted.has('ns', 'x'.repeat(150))).toBe(true);
      expect(rebooted.has('ns', 'old')).toBe(true);
      rebooted.close();
    });
  });

  it('memory mode writes nothing', () => {
    const l = openDeliveryLedger({ dir: null, logger });
    l.add('ns', ['x']);
    expect(l.has('ns', 'x')).toBe(true);
    l.close();
  });
});
