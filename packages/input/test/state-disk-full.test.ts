/**
 * A state file write failing with ENOSPC (injected into node:fs/promises: the temp file is created,
 * part of the document reaches it, then ENOSPC) must not crash, lose, or leave temp files: the
 * store keeps the document, reports why, and writes it once the disk has room.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { configureLogging, onLogRecord, type LogRecord } from '@devo-collector/common';
import { openStateStore, STATE_WRITE_ERROR } from '../src/state/state-store.js';
import { tempDir } from './helpers.js';

const disk = vi.hoisted(() => ({ full: false, failedWrites: 0 }));

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const open = (async (...args: Parameters<typeof real.open>) => {
    const h = await real.open(...args);
    if (!disk.full || !String(args[0]).endsWith('.tmp')) return h;
    return new Proxy(h, {
      get(target, prop, receiver) {
        if (prop === 'writeFile') {
          return async (data: string) => {
            disk.failedWrites++;
            await target.write(data.slice(0, Math.floor(data.length / 2)));
            throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
          };
        }
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
  }) as typeof real.open;
  return { ...real, open, default: { ...real, open } };
});

afterEach(() => {
  disk.full = false;
  disk.failedWrites = 0;
});

describe('state store on a full disk', () => {
  it('retries a write failing with ENOSPC until it succeeds, reports RuntimeError(520) meanwhile, leaves no temp file', async () => {
    configureLogging({ silent: true });
    const records: LogRecord[] = [];
    const off = onLogRecord((r) => records.push(r));
    const dir = await tempDir();
    const store = await openStateStore({
      mode: 'filesystem', directory: dir, inputName: 'd', inputId: '1', service: 'modelbreaches', startTimeText: 'x', version: 1, ownerName: 'P',
      writeRetry: { baseMs: 40, capMs: 80 },
    });
    await store.update((d) => void (d.cursor_ms = 1));
    const file = store.filePath as string;
    disk.full = true;
    let done = false;
    const pending = store.update((d) => void (d.cursor_ms = 2)).then(() => void (done = true));
    await vi.waitFor(() => expect(disk.failedWrites).toBeGreaterThanOrEqual(3), { timeout: 5_000, interval: 10 });
    expect(done).toBe(false);
    expect(store.writeBlocked).toMatchObject({ code: STATE_WRITE_ERROR });
    expect(store.writeBlocked?.message).toContain('ENOSPC');
    expect(store.writeBlocked?.message).toContain(file);
    // The document on disk is the last good one; the failed attempts left no temp files. A retry
    // may be in flight at any instant (its temp file exists for a moment), so at most that one
    // shows, and there is a moment with none: a leak would leave one more per failed attempt.
    expect((JSON.parse(readFileSync(file, 'utf8')) as { cursor_ms: number }).cursor_ms).toBe(1);
    const tmpFiles = (): string[] => readdirSync(dir).filter((n) => n.endsWith('.tmp'));
    expect(tmpFiles().length).toBeLessThanOrEqual(1);
    await vi.waitFor(() => expect(tmpFiles()).toEqual([]), { timeout: 5_000, interval: 5 });
    // Later commits ride on the retried write (the latest document is written).
    const later = store.update((d) => void (d.cursor_ms = 3));
    disk.full = false;
    await Promise.all([pending, later]);
    expect(done).toBe(true);
    expect(store.writeBlocked).toBeNull();
    expect((JSON.parse(readFileSync(file, 'utf8')) as { cursor_ms: number }).cursor_ms).toBe(3);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    const msgs = records.map((r) => r.message);
    expect(msgs.filter((m) => m.startsWith(`RuntimeError(${STATE_WRITE_ERROR}): cannot write the state file ${file}: ENOSPC`))).toHaveLength(1);
    expect(msgs.some((m) => m.startsWith(`The state file ${file} is written again after`))).toBe(true);
    await store.close();
    off();
  });

  it('opens on a full disk without waiting for its first write, which follows once there is room', async () => {
    configureLogging({ silent: true });
    const dir = await tempDir();
    disk.full = true;
    const t0 = Date.now();
    const store = await openStateStore({
      mode: 'filesystem', directory: dir, inputName: 'd', inputId: '1', service: 'status', startTimeText: null, version: 1, ownerName: 'P',
      writeRetry: { baseMs: 40, capMs: 80 },
    });
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(store.writeBlocked?.code).toBe(STATE_WRITE_ERROR);
    expect(readdirSync(dir)).toEqual([]);
    disk.full = false;
    await vi.waitFor(() => expect(store.writeBlocked).toBeNull(), { timeout: 5_000, interval: 20 });
    expect(readdirSync(dir)).toEqual([store.filePath?.slice(dir.length + 1)]);
    await store.close();
  });

  it('close gives up after one more attempt: the update rejects, nothing hangs', async () => {
    configureLogging({ silent: true });
    const dir = await tempDir();
    const store = await openStateStore({
      mode: 'filesystem', directory: dir, inputName: 'd', inputId: '1', service: 'antigena', startTimeText: 'x', version: 1, ownerName: 'P',
      writeRetry: { baseMs: 60_000, capMs: 60_000 },
    });
    disk.full = true;
    const pending = store.update((d) => void (d.cursor_ms = 9));
    await vi.waitFor(() => expect(disk.failedWrites).toBe(1), { timeout: 5_000, interval: 10 });
    const t0 = Date.now();
    await store.close();
    await expect(pending).rejects.toThrow(/ENOSPC/);
    expect(Date.now() - t0).toBeLessThan(5_000);
    expect(disk.failedWrites).toBe(2);
  });
});
