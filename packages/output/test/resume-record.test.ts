import { existsSync, mkdtempSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mulberry32 as rng } from '@devo-collector/darktrace-sim';
import { openSpool, type Spool } from '../src/spool.js';
import {
  currentBootId,
  ResumeFile,
  decodeResumeSlot,
  encodeResumeRecord,
  newestResumeRecord,
  parseBootId,
  RESUME_FILE_BYTES,
  RESUME_SLOT_BYTES,
  RESUME_SLOT_STRIDE,
  resumeSlotOffset,
  type ResumeRecord,
} from '../src/spool/resume-file.js';
import { captureLogs, testLogger } from './helpers/log-capture.js';

const BOOT = parseBootId('66ac1295-cf91-4898-a42f-cb40ad9c32d3');
const OTHER_BOOT = parseBootId('00000000-1111-2222-3333-444444444444');
const rec = (sequence: number, segment: number, offset: number, bootId = BOOT): ResumeRecord => ({ sequence, segment, offset, bootId });

/** A resume file's bytes holding the given records in their slots. */
function fileWith(...records: ResumeRecord[]): Buffer {
  const file = Buffer.alloc(RESUME_FILE_BYTES);
  for (const r of records) encodeResumeRecord(r).copy(file, resumeSlotOffset(r.sequence));
  return file;
}

describe('resume record codec', () => {
  it('round-trips, including values past 2^32', () => {
    const r = rec(2 ** 40 + 7, 123_456_789_012, 2 ** 33 + 5);
    const slot = encodeResumeRecord(r);
    expect(slot.length).toBe(RESUME_SLOT_BYTES);
    expect(decodeResumeSlot(slot)).toEqual(r);
  });

  it('rejects an empty slot, a bad magic and any flipped byte', () => {
    expect(decodeResumeSlot(Buffer.alloc(RESUME_SLOT_BYTES))).toBeNull();
    const slot = encodeResumeRecord(rec(3, 1, 100));
    for (let i = 0; i < RESUME_SLOT_BYTES; i++) {
      const bad = Buffer.from(slot);
      bad[i] = (bad[i] as number) ^ 0x01;
      expect(decodeResumeSlot(bad), `byte ${i}`).toBeNull();
    }
    expect(decodeResumeSlot(slot.subarray(0, RESUME_SLOT_BYTES - 1))).toBeNull();
  });

  it('alternates slots and picks the newest valid one; a torn newest slot falls back to the older', () => {
    expect(resumeSlotOffset(4)).toBe(0);
    expect(resumeSlotOffset(5)).toBe(RESUME_SLOT_STRIDE);
    const file = fileWith(rec(4, 2, 400), rec(5, 2, 500));
    expect(newestResumeRecord(file)).toMatchObject({ sequence: 5, offset: 500 });
    // Power loss in the middle of writing slot 1 (sequence 5): its tail is garbage.
    file.fill(0xee, RESUME_SLOT_STRIDE + 20, RESUME_SLOT_STRIDE + RESUME_SLOT_BYTES);
    expect(newestResumeRecord(file)).toMatchObject({ sequence: 4, offset: 400 });
    file.fill(0, 0, RESUME_SLOT_BYTES);
    expect(newestResumeRecord(file)).toBeNull();
    expect(newestResumeRecord(Buffer.alloc(0))).toBeNull();
  });

  it('parses a boot id; anything else is zeros', () => {
    expect(BOOT.toString('hex')).toBe('66ac1295cf914898a42fcb40ad9c32d3');
    expect(parseBootId('not a boot id').equals(Buffer.alloc(16))).toBe(true);
  });
});

describe('resume file', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'resume-'));
  });

  it('is created zero-filled 0600, writes alternate slots in place, a reopen reads the newest', async () => {
    const file = path.join(dir, 'resume.bin');
    const a = await ResumeFile.open(file, testLogger(), BOOT);
    expect(a.newest).toBeNull();
    expect(statSync(file).size).toBe(RESUME_FILE_BYTES);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    a.file.write({ segment: 1, offset: 100 });
    a.file.write({ segment: 1, offset: 200 });
    a.file.write({ segment: 2, offset: 50 });
    const bytes = readFileSync(file);
    expect(bytes.length).toBe(RESUME_FILE_BYTES);
    expect(decodeResumeSlot(bytes.subarray(0, RESUME_SLOT_BYTES))).toMatchObject({ sequence: 2, segment: 1, offset: 200 });
    expect(decodeResumeSlot(bytes.subarray(RESUME_SLOT_STRIDE))).toMatchObject({ sequence: 3, segment: 2, offset: 50 });
    await a.file.close();
    const b = await ResumeFile.open(file, testLogger(), BOOT);
    expect(b.newest).toMatchObject({ sequence: 3, segment: 2, offset: 50 });
    // The sequence goes on from the newest: the next write lands in the other slot and wins.
    b.file.write({ segment: 2, offset: 60 });
    await b.file.close();
    expect(newestResumeRecord(readFileSync(file))).toMatchObject({ sequence: 4, offset: 60 });
  });

  it('reads the newest record whatever its boot (resume-point.ts judges it) and goes on from its sequence', async () => {
    const file = path.join(dir, 'resume.bin');
    writeFileSync(file, fileWith(rec(9, 1, 100, OTHER_BOOT)));
    const r = await ResumeFile.open(file, testLogger(), BOOT);
    expect(r.newest).toMatchObject({ sequence: 9, segment: 1, offset: 100 });
    expect(r.newest?.bootId.equals(OTHER_BOOT)).toBe(true);
    r.file.write({ segment: 1, offset: 150 });
    await r.file.close();
    expect(newestResumeRecord(readFileSync(file))).toMatchObject({ sequence: 10, offset: 150 });
    expect(newestResumeRecord(readFileSync(file))?.bootId.equals(BOOT)).toBe(true);
  });

  it.skipIf(!existsSync('/dev/full'))('a record that cannot be written removes the file (recovery falls back to the checkpoint) and logs an ERROR', async () => {
    const logs = captureLogs();
    try {
      // resume.bin -> /dev/full: reads give zeros, every write fails with ENOSPC.
      const file = path.join(dir, 'resume.bin');
      symlinkSync('/dev/full', file);
      const r = await ResumeFile.open(file, testLogger('Spool'), BOOT);
      expect(r.newest).toBeNull();
      r.file.write({ segment: 1, offset: 10 });
      expect(existsSync(file)).toBe(false); // the link is gone, /dev/full itself untouched
      expect(existsSync('/dev/full')).toBe(true);
      expect(logs.records.filter((x) => x.level === 'error' && x.message.includes('Cannot write the spool resume record'))).toHaveLength(1);
      r.file.write({ segment: 1, offset: 20 }); // no retry, no second line
      expect(logs.records.filter((x) => x.level === 'error')).toHaveLength(1);
      await r.file.close();
    } finally {
      logs.stop();
    }
  });

  it('the boot id of this machine is read once and is 16 bytes', () => {
    expect(currentBootId().length).toBe(16);
    expect(currentBootId()).toBe(currentBootId());
  });
});

describe('file spool resume after a crash', () => {
  let dir: string;
  let logs: ReturnType<typeof captureLogs>;
  const open = () =>
    // A checkpoint interval far beyond the test: only the resume record can carry the position.
    openSpool({ type: 'filesystem', dir, name: 't', maxBytes: 1 << 20, logger: testLogger('Spool'), checkpointIntervalMs: 600_000 });
  const opened: Spool[] = [];
  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'spool-resume-'));
    logs = captureLogs();
  });
  afterEach(async () => {
    logs.stop();
    // The "crashed" spools were never closed; close them now that the test is over.
    for (const s of opened.splice(0)) await s.close();
  });

  async function spoolWith(n: number): Promise<Spool> {
    const { spool } = await open();
    opened.push(spool);
    for (let i = 0; i < n; i++) await spool.append(Buffer.from(`f${i}`), 1);
    return spool;
  }

  /** What a second process opening the same directory (after a kill -9 of the first) recovers. */
  async function recoverAfterCrash(): Promise<string[]> {
    const { spool } = await open();
    const out: string[] = [];
    for (let f = await spool.nextReady(); f; f = await spool.nextReady()) out.push(f.payload.toString());
    await spool.close();
    return out;
  }

  it('resumes right after the last settled frame, with no checkpoint written in between', async () => {
    const s = await spoolWith(6);
    for (let i = 0; i < 4; i++) s.settle((await s.next())!.seq);
    expect(await recoverAfterCrash()).toEqual(['f4', 'f5']);
    expect(logs.records.some((r) => r.message.includes('Resuming after the frames the receiver confirmed'))).toBe(true);
  });

  it('frames handed out but not settled are recovered, even behind a settled one (only the settled prefix counts)', async () => {
    const s = await spoolWith(5);
    const [a, b, c] = [(await s.next())!, (await s.next())!, (await s.next())!];
    s.settle(a.seq);
    s.settle(c.seq); // confirmed out of order (two connections): b still holds the prefix back
    expect(await recoverAfterCrash()).toEqual(['f1', 'f2', 'f3', 'f4']);
    s.release(b.seq);
    expect(await recoverAfterCrash()).toEqual(['f1', 'f2', 'f3', 'f4']);
    s.settle((await s.next())!.seq);
    expect(await recoverAfterCrash()).toEqual(['f3', 'f4']);
  });

  it('a torn newest slot falls back to the older record: more re-sent, nothing lost', async () => {
    const s = await spoolWith(4);
    for (let i = 0; i < 3; i++) s.settle((await s.next())!.seq);
    const file = path.join(dir, 'resume.bin');
    const bytes = readFileSync(file);
    const newest = newestResumeRecord(bytes)!;
    bytes.fill(0xee, resumeSlotOffset(newest.sequence) + 10, resumeSlotOffset(newest.sequence) + RESUME_SLOT_BYTES);
    writeFileSync(file, bytes);
    expect(await recoverAfterCrash()).toEqual(['f2', 'f3']);
  });

  it('a record behind the settled checkpoint, or from before a reboot, is not used', async () => {
    const s = await spoolWith(4);
    for (let i = 0; i < 2; i++) s.settle((await s.next())!.seq);
    await s.flushCheckpoint();
    const file = path.join(dir, 'resume.bin');
    const newest = newestResumeRecord(readFileSync(file))!;
    // A newer record pointing before the checkpoint: the checkpoint wins.
    writeFileSync(file, fileWith(rec(newest.sequence + 1, newest.segment, 0, currentBootId())));
    expect(await recoverAfterCrash()).toEqual(['f2', 'f3']);
    // A record past everything, but from another boot: ignored, the checkpoint wins.
    writeFileSync(file, fileWith(rec(newest.sequence + 5, newest.segment, 10_000, OTHER_BOOT)));
    expect(await recoverAfterCrash()).toEqual(['f2', 'f3']);
    expect(logs.records.some((r) => r.level === 'warn' && r.message.includes('predates a reboot'))).toBe(true);
  });
});


describe('file spool resume, random operation sequences', () => {
  it('after a crash at any point recovery starts exactly after the settled prefix, incarnation after incarnation', async () => {
    const logs = captureLogs();
    try {
      for (let trial = 0; trial < 30; trial++) {
        const seed = 1000 + trial;
        const rand = rng(seed);
        const dir = mkdtempSync(path.join(os.tmpdir(), 'spool-prop-'));
        const open = () =>
          openSpool({ type: 'filesystem', dir, name: 'p', maxBytes: 1 << 20, logger: testLogger('Spool'), checkpointIntervalMs: 600_000, segmentMaxBytes: 200 });
        // Crashed incarnations are closed only at the end (a close writes their checkpoint).
        const crashed: Spool[] = [];
        let appended = 0;
        // The model of the current incarnation: its frames (payload names) and their states.
        let names: string[] = [];
        let spool = (await open()).spool;
        for (let incarnation = 0; incarnation < 3; incarnation++) {
          const state: Array<'ready' | 'leased' | 'settled'> = names.map(() => 'ready');
          const seqOf = new Map<number, number>();
          for (let op = 0; op < 30; op++) {
            const r = rand();
            const leased = state.flatMap((st, i) => (st === 'leased' ? [i] : []));
            const pick = (): number => leased[Math.floor(rand() * leased.length)] as number;
            if (r < 0.25) {
              const n = 1 + Math.floor(rand() * 3);
              const batch = Array.from({ length: n }, () => `p${appended++}`);
              await Promise.all(batch.map((b) => spool.append(Buffer.from(b), 1)));
              names.push(...batch);
              state.push(...batch.map(() => 'ready' as const));
            } else if (r < 0.5) {
              const f = await spool.nextReady();
              if (f) {
                const i = names.indexOf(f.payload.toString());
                expect(state[i], `seed ${seed}: handed out twice`).toBe('ready');
                expect(state.slice(0, i).includes('ready'), `seed ${seed}: out of order`).toBe(false);
                state[i] = 'leased';
                seqOf.set(i, f.seq);
              }
            } else if (r < 0.82 && leased.length) {
              const i = pick();
              spool.release(seqOf.get(i) as number);
              state[i] = 'ready';
            } else if (r < 0.95 && leased.length) {
              const i = pick();
              spool.settle(seqOf.get(i) as number);
              state[i] = 'settled';
            } else {
              await spool.flushCheckpoint();
            }
          }
          // kill -9 now: the next process opens the directory.
          let prefix = 0;
          while (prefix < state.length && state[prefix] === 'settled') prefix++;
          crashed.push(spool);
          spool = (await open()).spool;
          // Hand out everything recovered to read it, then give it all back: the new incarnation starts from these.
          const recovered: Array<{ seq: number; name: string }> = [];
          for (let f = await spool.nextReady(); f; f = await spool.nextReady()) recovered.push({ seq: f.seq, name: f.payload.toString() });
          expect(recovered.map((f) => f.name), `seed ${seed}, incarnation ${incarnation}`).toEqual(names.slice(prefix));
          for (const f of recovered.reverse()) spool.release(f.seq);
          names = names.slice(prefix);
        }
        await spool.close();
        for (const c of crashed.reverse()) await c.close();
      }
    } finally {
      logs.stop();
    }
  });
});
