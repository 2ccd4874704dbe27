import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync, appendFileSync } from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSpool, type Spool } from '../src/spool.js';
import { FRAME_HEADER_BYTES, writeFrameHeader } from '../src/spool/frame-codec.js';

/** A whole frame in one buffer, as the documented layout has it. */
function encodeFrame(payload: Buffer, messages: number): Buffer {
  const header = Buffer.alloc(FRAME_HEADER_BYTES);
  writeFrameHeader(payload, messages, header);
  return Buffer.concat([header, payload]);
}
import { captureLogs, testLogger } from './helpers/log-capture.js';

let dir: string;
let logs: ReturnType<typeof captureLogs>;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'spool-'));
  logs = captureLogs();
});
afterEach(() => logs.stop());

const open = (extra: Partial<Parameters<typeof openSpool>[0]> = {}) =>
  openSpool({ type: 'filesystem', dir, name: 't', maxBytes: 1 << 20, logger: testLogger('Spool'), checkpointIntervalMs: 10, ...extra });

async function drain(spool: Spool, n: number, settle = true): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const f = await spool.next();
    if (!f) break;
    out.push(f.payload.toString());
    if (settle) spool.settle(f.seq);
  }
  return out;
}

describe('file spool', () => {
  it('appends durably, hands out in order, recovers only what is unsent', async () => {
    const { spool, recovery } = await open();
    expect(recovery.frames).toBe(0);
    await Promise.all(Array.from({ length: 10 }, (_, i) => spool.append(Buffer.from(`frame-${i}\n`), 1)));
    expect(await drain(spool, 4)).toEqual(['frame-0\n', 'frame-1\n', 'frame-2\n', 'frame-3\n']);
    await spool.close();
    const seg = readdirSync(dir).find((n) => n.startsWith('seg-')) as string;
    expect(statSync(path.join(dir, seg)).mode & 0o777).toBe(0o600);
    expect(statSync(path.join(dir, 'checkpoint.json')).mode & 0o777).toBe(0o600);

    const again = await open();
    expect(again.recovery).toMatchObject({ frames: 6, messages: 6, corruptFrames: 0 });
    expect(await drain(again.spool, 6)).toEqual(['frame-4\n', 'frame-5\n', 'frame-6\n', 'frame-7\n', 'frame-8\n', 'frame-9\n']);
    await again.spool.close();
    const third = await open();
    expect(third.recovery.frames).toBe(0);
    await third.spool.close();
    const msgs = logs.records.map((r) => r.message);
    expect(msgs).toContain('[EMERGENCY_PERSISTENCE_SYSTEM] Recovering any available content from the persistence system');
    expect(msgs).toContain('[EMERGENCY_PERSISTENCE_SYSTEM] Nothing available in the persistence system');
    expect(msgs.some((m) => /^\[EMERGENCY_PERSISTENCE_SYSTEM\] Recovered 6 messages \(\d+ bytes\)$/.test(m))).toBe(true);
    expect(msgs).toContain('[EMERGENCY_PERSISTENCE_SYSTEM] Elapsed seconds: 0.00');
  });

  it('released frames are handed out again before newer ones; settle order does not matter', async () => {
    const { spool } = await open();
    for (let i = 0; i < 4; i++) await spool.append(Buffer.from(`f${i}`), 1);
    const a = await spool.next();
    const b = await spool.next();
    spool.settle(b!.seq);
    spool.release(a!.seq);
    expect((await spool.next())!.payload.toString()).toBe('f0');
    expect(spool.stats().pendingFrames).toBe(4);
    await spool.close();
    const { recovery, spool: s2 } = await open();
    expect(recovery.frames).toBe(4); // f1 settled but f0 not: the checkpoint cannot pass f0
    await s2.close();
  });

  it('truncates a torn tail and quarantines a bad-CRC segment, logs ERROR, and goes on', async () => {
    const { spool } = await open();
    for (let i = 0; i < 3; i++) await spool.append(Buffer.from(`good-${i}`), 1);
    await spool.close();
    const seg = path.join(dir, readdirSync(dir).find((n) => n.startsWith('seg-')) as string);
    // A torn append (kill -9 between write and fsync): half a header.
    appendFileSync(seg, Buffer.from([0x44, 0x56, 0x53]));
    let r = await open();
    expect(r.recovery).toMatchObject({ frames: 3, corruptFrames: 1, quarantinedSegments: 0 });
    await r.spool.close();
    expect(logs.records.some((x) => x.level === 'error' && x.message.includes('torn frame'))).toBe(true);

    // Flip a payload byte of the second frame: CRC mismatch.
    const buf = readFileSync(seg);
    const second = 16 + 6; // header + "good-0"
    buf[second + 16] = buf[second + 16]! ^ 0xff;
    writeFileSync(seg, buf);
    r = await open();
    expect(r.recovery).toMatchObject({ frames: 1, corruptFrames: 1, quarantinedSegments: 1 });
    expect(readdirSync(path.join(dir, 'quarantine'))).toHaveLength(1);
    expect(statSync(seg).size).toBe(second);
    expect(await drain(r.spool, 1)).toEqual(['good-0']);
    await r.spool.append(Buffer.from('after'), 1);
    expect(await drain(r.spool, 1)).toEqual(['after']);
    await r.spool.close();
    expect(logs.records.some((x) => x.level === 'error' && x.message.includes('CRC32 mismatch'))).toBe(true);
  });

  it('the byte bound blocks appends (never drops) and frees them in order as frames settle', async () => {
    const { spool } = await open({ maxBytes: 100 });
    const acked: number[] = [];
    const appends = Array.from({ length: 5 }, (_, i) => spool.append(Buffer.alloc(40, 65 + i), 1).then(() => acked.push(i)));
    await new Promise((r) => setTimeout(r, 50));
    expect(acked).toEqual([0, 1]);
    expect(spool.stats().blockedAppends).toBe(3);
    const got = await drain(spool, 5);
    await Promise.all(appends);
    expect(acked).toEqual([0, 1, 2, 3, 4]);
    expect(got.map((g) => g[0])).toEqual(['A', 'B', 'C', 'D', 'E']);
    await spool.close();
  });

  it('rotates segments and deletes fully sent ones', async () => {
    const { spool } = await open({ segmentMaxBytes: 200 });
    for (let i = 0; i < 20; i++) await spool.append(Buffer.alloc(50, 97), 1);
    expect(readdirSync(dir).filter((n) => n.startsWith('seg-')).length).toBeGreaterThan(4);
    await drain(spool, 20);
    await spool.flushCheckpoint();
    expect(readdirSync(dir).filter((n) => n.startsWith('seg-')).length).toBeLessThanOrEqual(2);
    await spool.close();
  });

  it('keeps fresh payloads in memory (no read-back) within its budget, drops them once handed out', async () => {
    const { spool } = await open({ memoryBytes: 250 });
    const payloads = Array.from({ length: 4 }, (_, i) => Buffer.alloc(100, 97 + i));
    await Promise.all(payloads.map((p) => spool.append(p, 1)));
    // Two fit in the 250-byte budget; the other two are read back from the segment.
    expect(spool.stats().cachedBytes).toBe(200);
    const got = [(await spool.next())!, (await spool.next())!, (await spool.next())!];
    expect(got[0]!.payload).toBe(payloads[0]);
    expect(got[1]!.payload).toBe(payloads[1]);
    expect(got[2]!.payload).not.toBe(payloads[2]);
    // The sender holds what it was handed; frame 3 was read back along with frame 2 (one read) and
    // is kept until it is handed out.
    expect(spool.stats().cachedBytes).toBe(100);
    got.push((await spool.next())!);
    expect(got.map((f) => f.payload)).toEqual(payloads);
    expect(spool.stats().cachedBytes).toBe(0);
    spool.settle(got[1]!.seq);
    // The connection that had frame 0 failed: it is read back from disk, identical.
    spool.release(got[0]!.seq);
    const again = (await spool.next())!;
    expect(again.seq).toBe(got[0]!.seq);
    expect(again.payload).not.toBe(payloads[0]);
    expect(again.payload).toEqual(payloads[0]);
    // Freed budget goes to new appends.
    const fresh = Buffer.from('fresh');
    await spool.append(fresh, 1);
    expect(spool.stats().cachedBytes).toBe(5);
    await spool.close();
  });

  it('reads consecutive frames beyond the memory budget back with one read', async () => {
    const { spool } = await open({ memoryBytes: 0 });
    const payloads = Array.from({ length: 10 }, (_, i) => Buffer.alloc(100 + i, 97 + i));
    await Promise.all(payloads.map((p) => spool.append(p, 1)));
    const probe = await fsp.open(path.join(dir, 'probe'), 'w');
    const proto = Object.getPrototypeOf(probe) as { read: (...a: unknown[]) => Promise<unknown> };
    await probe.close();
    const read = proto.read;
    let reads = 0;
    proto.read = function (this: unknown, ...a: unknown[]) {
      reads++;
      return read.apply(this, a);
    };
    try {
      const got: Buffer[] = [];
      for (let i = 0; i < 10; i++) got.push((await spool.next())!.payload);
      expect(got).toEqual(payloads);
      expect(reads).toBe(1);
    } finally {
      proto.read = read;
    }
    await spool.close();
  });

  it('writes header and payload without copying them into one frame: the bytes on disk are the documented frames', async () => {
    const { spool } = await open();
    await Promise.all([spool.append(Buffer.from('one\n'), 1), spool.append(Buffer.from('two\nthree\n'), 2)]);
    await spool.close();
    const seg = readFileSync(path.join(dir, readdirSync(dir).find((n) => n.startsWith('seg-')) as string));
    expect(seg).toEqual(Buffer.concat([encodeFrame(Buffer.from('one\n'), 1), encodeFrame(Buffer.from('two\nthree\n'), 2)]));
  });

  it('onWritten runs once per frame when its bytes are in the segment, before the append resolves', async () => {
    const { spool } = await open();
    const events: string[] = [];
    const seg = (): string => readFileSync(path.join(dir, readdirSync(dir).filter((n) => n.startsWith('seg-')).sort().at(-1) as string), 'latin1');
    const appends = ['a', 'b'].map((p) =>
      spool
        .append(Buffer.from(`${p}\n`), 1, () => events.push(`written ${p} ${seg().includes(`${p}\n`)}`))
        .then(() => events.push(`durable ${p}`)),
    );
    await Promise.all(appends);
    expect(events).toEqual(['written a true', 'written b true', 'durable a', 'durable b']);
    await spool.close();
  });

  it('group commit: appends of one tick share one write', async () => {
    const { spool } = await open();
    await Promise.all(Array.from({ length: 200 }, (_, i) => spool.append(Buffer.from(`x${i}`), 1)));
    expect(spool.stats()).toMatchObject({ appendedFrames: 200, pendingFrames: 200 });
    await spool.close();
  });
});

describe('memory spool', () => {
  it('same interface and bound, nothing on disk', async () => {
    const { spool } = await openSpool({ type: 'memory', name: 'm', maxBytes: 10, logger: testLogger() });
    const p1 = spool.append(Buffer.from('0123456789'), 1);
    let second = false;
    const p2 = spool.append(Buffer.from('abc'), 1).then(() => (second = true));
    await p1;
    await new Promise((r) => setTimeout(r, 10));
    expect(second).toBe(false);
    const f = await spool.next();
    spool.settle(f!.seq);
    await p2;
    expect((await spool.next())!.payload.toString()).toBe('abc');
    await spool.close();
    expect(readdirSync(dir)).toEqual([]);
  });
});
