/**
 * Recovery when a disk spool opens (file-store.ts): reads what is on disk, lets resume-point.ts
 * choose where sending starts, deletes what is behind it and scans the rest. A torn tail (an append
 * a crash interrupted, never acknowledged) is truncated; a damaged frame's segment is copied to
 * `quarantine/` and truncated there; either is logged as ERROR and recovery goes on. A checkpoint
 * that exists but cannot be used stops the open (RuntimeError 502) and is left as it was.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { RuntimeError, type Logger } from '@devo-collector/common';
import { scanFrames } from './frame-codec.js';
import { currentBootId, ResumeFile } from './resume-file.js';
import { chooseResumePoint, type ResumePoint } from './resume-point.js';
import { listSegments, segName } from './segment-files.js';
import type { RecoveredStore } from './types.js';

/** What recovery found, the resume point it chose, the open resume file and the segments left on disk, oldest first. */
type RecoveredDir = RecoveredStore & ResumePoint & { resume: ResumeFile; segments: number[] };

export const CHECKPOINT_FILE = 'checkpoint.json';
/** The checkpoint's fixed temp name: recovery removes a crash's leftover. */
export const CHECKPOINT_TMP = 'checkpoint.json.tmp';

export async function recoverSpoolDir(dir: string, log: Logger): Promise<RecoveredDir> {
  const file = (name: string): string => path.join(dir, name);
  await fs.rm(file(CHECKPOINT_TMP), { force: true });
  const segments = await listSegments(dir);
  const text = await readCheckpoint(file(CHECKPOINT_FILE));
  const opened = await ResumeFile.open(file('resume.bin'), log);
  const point = chooseResumePoint({ checkpoint: text, resume: opened.newest, bootId: currentBootId(), segments });
  if ('error' in point) {
    await opened.file.close();
    throw spoolStateError(file(CHECKPOINT_FILE), point.problem);
  }
  if (point.earlierBoot) {
    log.warn('[EMERGENCY_PERSISTENCE_SYSTEM] The spool resume record predates a reboot (it was never fsynced): re-sending from the last checkpoint');
  }
  if (point.from === 'resume') {
    log.info(`[EMERGENCY_PERSISTENCE_SYSTEM] Resuming after the frames the receiver confirmed (segment ${point.start.segment}, byte ${point.start.offset})`);
  }
  for (const n of point.remove) await fs.rm(file(segName(n)), { force: true });
  const out: RecoveredDir = { frames: [], corruptFrames: 0, quarantinedSegments: 0, resume: opened.file, segments: point.keep.map((s) => s.n), ...point };
  for (const s of point.keep) if (s.from < s.bytes) await scanSegment(dir, s.n, s.from, out, log);
  return out;
}

/** Collects the frames of segment `n` from byte `from` into `out`, truncating a damaged or torn tail. */
async function scanSegment(dir: string, n: number, from: number, out: RecoveredStore, log: Logger): Promise<void> {
  const h = await fs.open(path.join(dir, segName(n)), 'r+');
  try {
    const buf = await h.readFile();
    const before = out.frames.length;
    for (const e of scanFrames(buf, from)) {
      if (e.kind === 'frame') {
        out.frames.push({ segment: n, offset: e.offset, end: e.end, length: e.length, messages: e.messages });
        continue;
      }
      out.corruptFrames++;
      const lost = buf.length - e.offset;
      let what = `ends with a torn frame at byte ${e.offset} (${lost} bytes, an append interrupted by a crash, never acknowledged): truncated`;
      if (e.kind === 'corrupt') {
        await fs.mkdir(path.join(dir, 'quarantine'), { recursive: true, mode: 0o700 });
        const q = path.join('quarantine', `${segName(n)}.${Date.now()}`);
        await fs.copyFile(path.join(dir, segName(n)), path.join(dir, q));
        out.quarantinedSegments++;
        what = `is damaged at byte ${e.offset} (${e.reason}): ${lost} bytes from there were not recovered, segment copied to ${q} and truncated`;
      }
      log.error(`[EMERGENCY_PERSISTENCE_SYSTEM] Spool segment ${segName(n)} ${what}`);
      await h.truncate(e.offset);
      await h.sync();
    }
    // A crash can leave frames written but not yet fsynced (the page cache kept them), and the
    // delivery ledger then already counts their records as spooled: make them durable now.
    if (out.frames.length > before) await h.sync();
  } finally {
    await h.close();
  }
}

/** The checkpoint's text, null when there is none; one that cannot be read stops the open. */
async function readCheckpoint(file: string): Promise<string | null> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    throw spoolStateError(file, `cannot be read (${code ?? 'error'})`);
  }
}

/** RuntimeError(502): a spool checkpoint that exists but cannot be used; nothing is changed. */
function spoolStateError(file: string, problem: string): RuntimeError {
  return new RuntimeError(
    502,
    `The spool checkpoint "${file}" ${problem}. Nothing was changed. Restore it from a backup, or remove it: ` +
      'the output then sends again from the oldest spool segment still on disk, past what its resume record shows as written ' +
      '(messages already delivered may arrive twice in Devo)',
  );
}
