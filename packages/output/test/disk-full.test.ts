/**
 * A full disk (ENOSPC) under the spool and the delivery ledger, injected into node:fs: the write
 * syscalls write part of what they were given (a disk filling up mid-write), then fail with
 * ENOSPC, like a real full filesystem does. The end-to-end run on a real small tmpfs is
 * test/reliability/disk-full.test.ts.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ledgerFileBytesFor, openDeliveryLedger, type DeliveryLedger } from '../src/ledger/delivery-ledger.js';
import { openSpool, type Spool } from '../src/spool.js';
import { segmentSizeFor } from '../src/spool/segment-files.js';
import { captureLogs, testLogger } from './helpers/log-capture.js';

/** `full`: every write fails; `partial`: bytes a failing write still writes first. */
const disk = vi.hoisted(() => ({ full: false, partial: 0, failedWrites: 0, failOpen: false }));

vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  const enospc = (): Error => Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
  // A short write first (what fits), then ENOSPC on the call for the rest: the kernel's behaviour.
  let shortWritten = false;
  const writeSync = ((fd: number, buf: Buffer, offset?: number, length?: number, position?: number | null) => {
    if (!disk.full) return (real.writeSync as (...a: unknown[]) => number)(fd, buf, offset, length, position);
    disk.failedWrites++;
    const off = typeof offset === 'number' ? offset : 0;
    const len = typeof length === 'number' ? length : buf.length - off;
    if (!shortWritten && disk.partial > 0 && len > 1) {
      shortWritten = true;
      const n = Math.min(disk.partial, len - 1);
      return real.writeSync(fd, buf, off, n, typeof position === 'number' ? position : null);
    }
    shortWritten = false;
    throw enospc();
  }) as typeof real.writeSync;
  const writevSync = ((fd: number, bufs: NodeJS.ArrayBufferView[], position?: number) => {
    if (!disk.full) return real.writevSync(fd, bufs, position);
    disk.failedWrites++;
    const all = Buffer.concat(bufs as Buffer[]);
    if (disk.partial > 0 && all.length > 1) return real.writeSync(fd, all, 0, Math.min(disk.partial, all.length - 1), position ?? null);
    throw enospc();
  }) as typeof real.writevSync;
  // `failOpen`: creating a file fails (a full disk without a free inode or directory block).
  const openSync = ((p: string, ...rest: unknown[]) => {
    if (disk.failOpen) throw Object.assign(new Error(`ENOSPC: no space left on device, open '${p}'`), { code: 'ENOSPC' });
    return (real.openSync as (...a: unknown[]) => number)(p, ...rest);
  }) as typeof real.openSync;
  return { ...real, writeSync, writevSync, openSync, default: { ...real, writeSync, writevSync, openSync } };
});

let dir: string;
let logs: ReturnType<typeof captureLogs>;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'disk-full-'));
  logs = captureLogs();
  disk.full = false;
  disk.partial = 0;
  disk.failedWrites = 0;
  disk.failOpen = false;
});
afterEach(() => {
  disk.full = false;
  logs.stop();
  rmSync(dir, { recursive: true, force: true });
});

const open = (extra: Partial<Parameters<typeof openSpool>[0]> = {}) =>
  openSpool({ type: 'filesystem', dir, name: 'devo_1.standard', maxBytes: 1 << 20, logger: testLogger('Spool'), checkpointIntervalMs: 10, ...extra });
const segments = (): string[] => readdirSync(dir).filter((n) => n.startsWith('seg-')).sort();
const segBytes = (): number => segments().reduce((n, s) => n + statSync(path.join(dir, s)).size, 0);

async function drain(spool: Spool, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const f = await spool.next();
    if (!f) break;
    out.push(f.payload.toString());
    spool.settle(f.seq);
  }
  return out;
}

describe('spool on a full disk', () => {
  it('a write failing with ENOSPC rejects its appends, reports writeBlocked, leaves no partial frame; the next write clears it', async () => {
    const { spool } = await open();
    await spool.append(Buffer.from('good-0'), 1);
    await spool.append(Buffer.from('good-1'), 1);
    const before = segBytes();
    disk.full = true;
    disk.partial = 20; // a whole header and part of the payload reach the file
    const t0 = Date.now();
    await expect(Promise.all([spool.append(Buffer.from('lost-a'.repeat(10)), 1), spool.append(Buffer.from('lost-b'), 1)])).rejects.toThrow(/ENOSPC/);
    expect(disk.failedWrites).toBeGreaterThan(0);
    const blocked = spool.stats().writeBlocked;
    expect(blocked).not.toBeNull();
    expect(blocked?.code).toBe(402);
    expect(blocked?.message).toContain('ENOSPC');
    expect(blocked?.message).toContain(dir);
    expect(blocked?.sinceMs).toBeGreaterThanOrEqual(t0);
    // The failed write was truncated away: the segment is as it was.
    expect(segBytes()).toBe(before);
    expect(spool.stats()).toMatchObject({ pendingFrames: 2, pendingMessages: 2, blockedAppends: 0 });
    // A second failure keeps the episode's start.
    await expect(spool.append(Buffer.from('lost-c'), 1)).rejects.toThrow(/ENOSPC/);
    expect(spool.stats().writeBlocked?.sinceMs).toBe(blocked?.sinceMs);
    disk.full = false;
    await spool.append(Buffer.from('good-2'), 1);
    expect(spool.stats().writeBlocked).toBeNull();
    expect(await drain(spool, 3)).toEqual(['good-0', 'good-1', 'good-2']);
    const msgs = logs.records.map((r) => r.message);
    expect(msgs.filter((m) => /cannot write .*ENOSPC.*batches are refused/.test(m))).toHaveLength(1);
    expect(msgs.some((m) => /writing again after/.test(m))).toBe(true);
    await spool.close();
    // What a restart finds: the good frames, nothing damaged, nothing of the refused ones.
    await fsp.rm(path.join(dir, 'checkpoint.json'));
    await fsp.rm(path.join(dir, 'resume.bin'));
    const again = await open();
    expect(again.recovery).toMatchObject({ frames: 3, corruptFrames: 0, quarantinedSegments: 0 });
    expect(await drain(again.spool, 3)).toEqual(['good-0', 'good-1', 'good-2']);
    await again.spool.close();
  });

  it('after ENOSPC, writes wait for headroom (two segments free) instead of refilling the last few KB', async () => {
    const { spool } = await open({ segmentMaxBytes: 64 * 1024 });
    await spool.append(Buffer.from('good-0'), 1);
    disk.full = true;
    await expect(spool.append(Buffer.from('lost'), 1)).rejects.toThrow(/ENOSPC/);
    disk.full = false;
    const tries = disk.failedWrites;
    const real = await fsp.statfs(dir);
    const statfs = vi.spyOn(fsp, 'statfs').mockResolvedValue({ ...real, bsize: 4096, bavail: 16 } as Awaited<ReturnType<typeof fsp.statfs>>);
    await expect(spool.append(Buffer.from('still-refused'), 1)).rejects.toThrow(/65536 bytes free, waiting for 131072/);
    expect(disk.failedWrites).toBe(tries); // refused without touching the segment
    expect(spool.stats().writeBlocked?.message).toMatch(/waiting for/);
    statfs.mockResolvedValue({ ...real, bsize: 4096, bavail: 64 } as Awaited<ReturnType<typeof fsp.statfs>>);
    await spool.append(Buffer.from('good-1'), 1);
    statfs.mockRestore();
    expect(spool.stats().writeBlocked).toBeNull();
    expect(await drain(spool, 2)).toEqual(['good-0', 'good-1']);
    await spool.close();
  });

  it('a failed fsync keeps the written frames on disk (a restart re-sends them: a duplicate, never a loss) and goes on in a new segment', async () => {
    const { spool } = await open();
    await spool.append(Buffer.from('a'), 1);
    const probe = await fsp.open(path.join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { sync: () => Promise<void> };
    await probe.close();
    const sync = vi.spyOn(proto, 'sync').mockRejectedValueOnce(Object.assign(new Error('EIO: i/o error, fsync'), { code: 'EIO' }));
    await expect(spool.append(Buffer.from('b'), 1)).rejects.toThrow(/EIO/);
    sync.mockRestore();
    expect(spool.stats().writeBlocked?.message).toMatch(/fsync/);
    await spool.append(Buffer.from('c'), 1);
    expect(spool.stats().writeBlocked).toBeNull();
    expect(segments()).toHaveLength(2);
    await spool.close();
    const again = await open();
    expect(again.recovery).toMatchObject({ frames: 3, corruptFrames: 0 });
    expect(await drain(again.spool, 3)).toEqual(['a', 'b', 'c']);
    await again.spool.close();
  });

  it('sent segments are deleted even when the checkpoint cannot be written; the checkpoint follows once it can', async () => {
    const { spool } = await open({ segmentMaxBytes: 256 });
    for (let i = 0; i < 30; i++) await spool.append(Buffer.alloc(60, 97 + (i % 26)), 1);
    expect(segments().length).toBeGreaterThan(5);
    // A path the checkpoint's temp file cannot take (EISDIR): the checkpoint write fails.
    mkdirSync(path.join(dir, 'checkpoint.json.tmp'));
    expect(await drain(spool, 30)).toHaveLength(30);
    await spool.flushCheckpoint();
    // Only the active segment is left although no checkpoint could be written.
    await vi.waitFor(() => expect(segments()).toHaveLength(1), { timeout: 5_000, interval: 20 });
    const failed = () => logs.records.filter((r) => r.message.startsWith('OutputError(410)'));
    await vi.waitFor(() => expect(failed().length).toBe(1), { timeout: 5_000, interval: 20 });
    expect(failed()[0]?.message).toContain(dir);
    rmSync(path.join(dir, 'checkpoint.json.tmp'), { recursive: true });
    // Retried by itself (with the next checkpoint, at the latest a second later), logged once more when it works again.
    await vi.waitFor(() => expect(logs.records.some((r) => /checkpoint is written again/.test(r.message))).toBe(true), { timeout: 5_000, interval: 50 });
    expect(failed()).toHaveLength(1);
    const cp = JSON.parse(readFileSync(path.join(dir, 'checkpoint.json'), 'utf8')) as { segment: number };
    expect(`seg-${String(cp.segment).padStart(12, '0')}.log`).toBe(segments()[0]);
    await spool.close();
  });

  it('on a full disk a wholly sent active segment is deleted too (a disk smaller than two segments gets space back)', async () => {
    const { spool } = await open({ segmentMaxBytes: 1 << 20 });
    for (let i = 0; i < 5; i++) await spool.append(Buffer.from(`old-${i}`), 1);
    disk.full = true;
    await expect(spool.append(Buffer.from('refused'), 1)).rejects.toThrow(/ENOSPC/);
    disk.full = false;
    expect(segments()).toHaveLength(1);
    expect(await drain(spool, 5)).toHaveLength(5);
    await spool.flushCheckpoint();
    expect(segments()).toEqual([]);
    await spool.append(Buffer.from('new-0'), 1);
    expect(segments()).toHaveLength(1);
    expect(await drain(spool, 1)).toEqual(['new-0']);
    await spool.close();
    await fsp.rm(path.join(dir, 'resume.bin'));
    const again = await open();
    expect(again.recovery).toMatchObject({ frames: 0, corruptFrames: 0 });
    await again.spool.close();
  });

  it('segments are sized to the filesystem: 1/64 of it, 1 MiB to 16 MiB', () => {
    const MiB = 1024 * 1024;
    expect(segmentSizeFor(4 * MiB)).toBe(MiB);
    expect(segmentSizeFor(32 * MiB)).toBe(MiB);
    expect(segmentSizeFor(256 * MiB)).toBe(4 * MiB);
    expect(segmentSizeFor(1024 * MiB)).toBe(16 * MiB);
    expect(segmentSizeFor(500 * 1024 * MiB)).toBe(16 * MiB);
  });
});

describe('delivery ledger on a full disk', () => {
  const lines = (): string[] => readFileSync(path.join(dir, 'ledger.log'), 'utf8').split('\n');
  /** What the intake does for a batch: pending once its frames are written, add once durable. */
  const durable = (l: DeliveryLedger, ns: string, keys: string[]): void => l.add(ns, keys, l.pending(ns, keys));

  it('never leaves a torn line, owes the revoke until the disk has room, and the reopened ledger claims nothing revoked', () => {
    const a = openDeliveryLedger({ dir, logger: testLogger('Ledger') });
    durable(a, 'ns', ['kept']);
    const id = a.pending('ns', ['revoked-1', 'revoked-2']);
    disk.full = true;
    disk.partial = 5;
    a.revoke(id); // its frames failed: this line must not be lost
    const id2 = a.pending('ns', ['never-written']);
    a.add('ns', ['in-memory-only'], id2);
    expect(a.has('ns', 'in-memory-only')).toBe(true);
    // Whole lines only: the partial writes were truncated away.
    const text = readFileSync(path.join(dir, 'ledger.log'), 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    for (const l of lines().filter(Boolean)) expect(() => JSON.parse(l) as unknown).not.toThrow();
    expect(text).not.toContain('"x"');
    const errors = logs.records.filter((r) => r.message.startsWith('OutputError(411)'));
    expect(errors).toHaveLength(1);
    expect(errors[0]?.message).toContain('ENOSPC');
    disk.full = false;
    durable(a, 'ns', ['after']);
    const written = lines().filter(Boolean).map((l) => JSON.parse(l) as unknown[]);
    const revokeAt = written.findIndex((l) => l[0] === 'x' && l[1] === id);
    const afterAt = written.findIndex((l) => l[0] === '?' && (l[3] as string[])[0] === 'after');
    expect(revokeAt).toBeGreaterThan(-1);
    expect(afterAt).toBeGreaterThan(revokeAt);
    expect(logs.records.some((r) => r.message === 'Delivery ledger: writing again')).toBe(true);
    const b = openDeliveryLedger({ dir, logger: testLogger('Ledger') });
    expect(b.has('ns', 'kept')).toBe(true);
    expect(b.has('ns', 'after')).toBe(true);
    expect(b.has('ns', 'revoked-1')).toBe(false);
    expect(b.has('ns', 'never-written')).toBe(false);
    a.close();
    b.close();
  });

  it('rotates at 1/32 of a small filesystem (64 KiB to 8 MiB): its two files stay a small part of the disk', () => {
    const MiB = 1024 * 1024;
    expect(ledgerFileBytesFor(8 * MiB)).toBe(256 * 1024);
    expect(ledgerFileBytesFor(1 * MiB)).toBe(64 * 1024);
    expect(ledgerFileBytesFor(100 * 1024 * MiB)).toBe(8 * MiB);
  });

  it('opens on a full disk (its section line is owed) and rotates only once the new file can be opened', () => {
    const a = openDeliveryLedger({ dir, logger: testLogger('Ledger') });
    durable(a, 'ns', ['one']);
    a.close();
    disk.full = true;
    const b = openDeliveryLedger({ dir, logger: testLogger('Ledger'), maxFileBytes: 200 });
    expect(b.has('ns', 'one')).toBe(true);
    disk.full = false;
    // The rotation's new file cannot be created: the ledger goes on in the renamed one.
    disk.failOpen = true;
    for (let i = 0; i < 4; i++) durable(b, 'ns', [`r-${i}-${'x'.repeat(20)}`]);
    disk.failOpen = false;
    expect(logs.records.filter((r) => r.message.startsWith('OutputError(411): Delivery ledger rotation failed'))).toHaveLength(1);
    // Nothing was lost meanwhile: the lines are in the renamed file.
    expect(readFileSync(path.join(dir, 'ledger.prev.log'), 'utf8')).toContain(`r-3-${'x'.repeat(20)}`);
    for (let i = 0; i < 10; i++) durable(b, 'ns', [`k-${i}-${'x'.repeat(20)}`]);
    // The owed section came first, then the rotation kept both files whole.
    const prev = readFileSync(path.join(dir, 'ledger.prev.log'), 'utf8');
    const sections = (readFileSync(path.join(dir, 'ledger.log'), 'utf8') + prev).split('\n').filter((l) => l.startsWith('["@"')).length;
    expect(sections).toBeGreaterThanOrEqual(2);
    b.close();
    const c = openDeliveryLedger({ dir, logger: testLogger('Ledger') });
    expect(c.has('ns', `k-9-${'x'.repeat(20)}`)).toBe(true);
    c.close();
  });
});
