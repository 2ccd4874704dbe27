import { appendFileSync, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '@devo-collector/common';
import { loadLedger, openDeliveryLedger, type DeliveryLedger, type LedgerFileRead, type LoadedLedger } from '../src/ledger/delivery-ledger.js';

const logger = createLogger('LedgerTest');
const tmp = (): string => mkdtempSync(path.join(os.tmpdir(), 'ledger-'));
/** What the intake does for a batch: pending once its frames are written, add once durable. */
const durable = (l: DeliveryLedger, ns: string, keys: string[]): void => l.add(ns, keys, l.pending(ns, keys));

describe('delivery ledger', () => {
  it('remembers keys per namespace and survives a reopen (the state a kill -9 leaves)', () => {
    const dir = tmp();
    const a = openDeliveryLedger({ dir, logger });
    durable(a, 'darktrace/modelbreaches', ['1', '2']);
    durable(a, 'darktrace/antigena', ['1:99']);
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
    durable(a, 'ns', ['a', 'b']);
    a.close();
    appendFileSync(path.join(dir, 'ledger.log'), '["?",2,"ns",["c","d"');
    const b = openDeliveryLedger({ dir, logger });
    expect(b.has('ns', 'a')).toBe(true);
    expect(b.has('ns', 'c')).toBe(false);
    durable(b, 'ns', ['e']);
    b.close();
    // The open ended the torn line: the line written after it is not glued to it and lost.
    const c = openDeliveryLedger({ dir, logger });
    expect(c.has('ns', 'e')).toBe(true);
    const lines = readFileSync(path.join(dir, 'ledger.log'), 'utf8').split('\n').filter(Boolean);
    // Not counting the section headers each open writes: a's two lines, the torn one, b's two.
    expect(lines.filter((l) => !l.startsWith('["@"'))).toHaveLength(5);
    c.close();
  });

  it('forgets the oldest keys beyond its capacity and rotates its file', () => {
    const dir = tmp();
    const l = openDeliveryLedger({ dir, logger, capacity: 3, maxFileBytes: 100 });
    durable(l, 'ns', ['1', '2']);
    durable(l, 'ns', ['3', '4']);
    expect(['1', '2', '3', '4'].map((k) => l.has('ns', k))).toEqual([false, true, true, true]);
    for (let i = 5; i < 20; i++) durable(l, 'ns', [String(i)]);
    l.close();
    // Two files at most, each at most maxFileBytes and one line: the disk use is bounded.
    expect(readdirSync(dir).sort()).toEqual(['ledger.log', 'ledger.prev.log']);
    for (const f of readdirSync(dir)) expect(statSync(path.join(dir, f)).size).toBeLessThanOrEqual(100 + 25);
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

    it('a confirmation after a rotation still confirms', () => {
      const dir = tmp();
      const a = openDeliveryLedger({ dir, logger, bootId: boot, maxFileBytes: 200 });
      const id = a.pending('ns', ['x'.repeat(150)]); // past maxFileBytes: the file rotates
      expect(readFileSync(path.join(dir, 'ledger.prev.log'), 'utf8')).toContain('"?"');
      a.add('ns', ['x'.repeat(150)], id);
      a.close();
      const rebooted = openDeliveryLedger({ dir, logger, bootId: otherBoot });
      expect(rebooted.has('ns', 'x'.repeat(150))).toBe(true);
      rebooted.close();
    });
  });

  it('memory mode writes nothing', () => {
    const l = openDeliveryLedger({ dir: null, logger });
    l.add('ns', ['x']);
    expect(l.has('ns', 'x')).toBe(true);
    l.close();
  });

  describe('loadLedger: the files (oldest first) -> the keys it trusts, or the error', () => {
    const BOOT = 'b00';
    const line = (...l: unknown[]): string => `${JSON.stringify(l)}\n`;
    const section = (boot: string, session: string): string => line('@', boot, session);
    const file = (...lines: string[]): LedgerFileRead => ({ file: 'ledger.log', text: lines.join('') });
    const none: LedgerFileRead = { file: 'ledger.log', text: '' };
    type Expected = Partial<Omit<LoadedLedger, 'keys'>> & { keys?: string[] };
    const rows: [string, LedgerFileRead[], Expected | { error: number }, number?][] = [
      ['no files', [none, none], { keys: [], torn: 0, unconfirmed: 0, openLine: false }],
      ['a confirmed batch counts, also after a reboot', [none, file(section('old', 's1'), line('?', 1, 'ns', ['a', 'b']), line('!', 1))], { keys: ['ns a', 'ns b'] }],
      ['unconfirmed, same boot: its frames are in the page cache', [none, file(section(BOOT, 's1'), line('?', 1, 'ns', ['a']))], { keys: ['ns a'], unconfirmed: 0 }],
      ['unconfirmed, before a reboot: ignored', [none, file(section('old', 's1'), line('?', 1, 'ns', ['a']))], { keys: [], unconfirmed: 1 }],
      ['revoked: never counts', [none, file(section(BOOT, 's1'), line('?', 1, 'ns', ['a']), line('x', 1))], { keys: [], unconfirmed: 0 }],
      [
        'ids belong to their section: a later run reusing id 1 neither confirms nor revokes the earlier one',
        [none, file(section('old', 's1'), line('?', 1, 'ns', ['a']), section(BOOT, 's2'), line('!', 1), section(BOOT, 's3'), line('?', 1, 'ns', ['b']), line('x', 1))],
        { keys: [], unconfirmed: 1 },
      ],
      [
        'a rotation repeats its section: a confirmation in the next file still confirms',
        [file(section('old', 's1'), line('?', 7, 'ns', ['a'])), file(section('old', 's1'), line('!', 7))],
        { keys: ['ns a'], unconfirmed: 0 },
      ],
      ['namespaces keep keys apart', [none, file(section(BOOT, 's1'), line('?', 1, 'x/a', ['1']), line('?', 2, 'x/b', ['1']), line('x', 2))], { keys: ['x/a 1'] }],
      ['a tail torn by a crash: skipped, and the next write must end it', [none, file(section(BOOT, 's1'), line('?', 1, 'ns', ['a']), '["?",2,"ns",["c"')], { keys: ['ns a'], torn: 1, openLine: true }],
      ['a torn tail of the previous file does not make the current one open', [file(section(BOOT, 's1'), '["!",'), none], { keys: [], torn: 1, openLine: false }],
      ['a corrupt line amid good ones: skipped, the rest kept', [none, file(section(BOOT, 's1'), 'garbage\n', line('?', 1, 'ns', ['a']), line('!', 1))], { keys: ['ns a'], torn: 1 }],
      ['JSON that is no ledger line (and the pre-release ["ns",keys] line): skipped as torn', [none, file('null\n', '42\n', '{"a":1}\n', line('ns', ['old']))], { keys: [], torn: 4 }],
      ['past capacity the oldest are forgotten', [none, file(section(BOOT, 's1'), line('?', 1, 'ns', ['a', 'b', 'c']), line('!', 1))], { keys: ['ns b', 'ns c'] }, 2],
      [
        'a key seen again is the newest',
        [none, file(section(BOOT, 's1'), line('?', 1, 'ns', ['a', 'b']), line('!', 1), line('?', 2, 'ns', ['a']), line('!', 2), line('?', 3, 'ns', ['c']), line('!', 3))],
        { keys: ['ns a', 'ns c'] },
        2,
      ],
      ['a file that cannot be read: RuntimeError(502), nothing trusted', [{ file: '/s/ledger.prev.log', code: 'EACCES' }, none], { error: 502 }],
    ];
    for (const [name, files, expected, capacity] of rows) {
      it(name, () => {
        const run = (): LoadedLedger => loadLedger(files, BOOT, capacity ?? 100);
        if ('error' in expected) {
          const detail = expect.stringMatching(/^The delivery ledger "\/s\/ledger\.prev\.log" cannot be read \(EACCES\)\. Nothing was changed\./);
          expect(run).toThrow(expect.objectContaining({ name: 'RuntimeError', code: expected.error, detail }));
          return;
        }
        const got = run();
        const { keys, ...counts } = expected;
        if (keys) expect([...got.keys].map((k) => k.replace('\u0000', ' '))).toEqual(keys);
        expect(got).toMatchObject(counts);
      });
    }
  });
});
