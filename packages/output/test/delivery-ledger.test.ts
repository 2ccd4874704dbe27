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
    expect(readFileSync(path.join(dir, 'ledger.log'), 'utf8').split('\n').filter(Boolean)).toHaveLength(3);
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

  it('memory mode writes nothing', () => {
    const l = openDeliveryLedger({ dir: null, logger });
    l.add('ns', ['x']);
    expect(l.has('ns', 'x')).toBe(true);
    l.close();
  });
});
