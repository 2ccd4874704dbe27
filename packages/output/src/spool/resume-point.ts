/**
 * Where sending starts again when a disk spool opens (after a crash or a clean stop), chosen from
 * what is on disk; pure, so that each case is a row of test/resume-point.test.ts (recovery.ts reads
 * the disk). The resume record (resume-file.ts) wins unless it predates a reboot or lies behind the
 * checkpoint (a torn slot's older record); segments are only ever deleted behind the checkpoint. A
 * damaged checkpoint is outside damage (it is written atomically), and falling back to the oldest
 * segment would silently send again everything still spooled: RuntimeError(502) instead.
 */
import { comparePositions, type ResumeRecord, type SpoolPosition } from './resume-file.js';

export interface SpoolDisk {
  /** The text of checkpoint.json; null when there is none. */
  checkpoint: string | null;
  /** The newest valid record of resume.bin; null when there is none. */
  resume: ResumeRecord | null;
  /** The running kernel's boot id (resume-file.ts currentBootId). */
  bootId: Buffer;
  /** The segment files found, any order. */
  segments: ReadonlyArray<{ n: number; bytes: number }>;
}

export interface ResumePoint {
  /** Where sending starts: everything before it is settled. */
  start: SpoolPosition;
  /** What chose it: the resume record (past the checkpoint), the checkpoint, or neither (the oldest segment). */
  from: 'resume' | 'checkpoint' | 'oldest';
  /** The checkpoint's position (what the next checkpoint keeps when nothing settles before it). */
  checkpoint: SpoolPosition | null;
  /** A valid resume record written before a reboot was ignored. */
  earlierBoot: boolean;
  /** Segments to delete: wholly behind the checkpoint, or empty. */
  remove: number[];
  /** The other segments, oldest first, and the byte their unsent frames start at (`bytes`: none). */
  keep: Array<{ n: number; from: number; bytes: number }>;
  /** The number of the segment this open starts (numbers are never reused). */
  nextSegment: number;
}

export type ResumeChoice = ResumePoint | { error: 502; problem: string };

/** The checkpoint's position, or null when the text is not `{"version":1,"segment":n,"offset":n}`. */
function parseCheckpoint(text: string): SpoolPosition | null {
  try {
    const c = JSON.parse(text) as { version?: unknown; segment?: unknown; offset?: unknown };
    if (c.version === 1 && Number.isInteger(c.segment) && Number.isInteger(c.offset)) return { segment: c.segment as number, offset: c.offset as number };
  } catch {
    // not JSON (or null): reported by the caller
  }
  return null;
}

export function chooseResumePoint(disk: SpoolDisk): ResumeChoice {
  const checkpoint = disk.checkpoint === null ? null : parseCheckpoint(disk.checkpoint);
  if (disk.checkpoint !== null && !checkpoint) {
    return { error: 502, problem: 'is corrupt (not a spool checkpoint: {"version":1,"segment":n,"offset":n})' };
  }
  const earlierBoot = !!disk.resume && !disk.resume.bootId.equals(disk.bootId);
  const record = earlierBoot ? null : disk.resume;
  const past = !!record && (!checkpoint || comparePositions(record, checkpoint) > 0);
  const start = record && past ? { segment: record.segment, offset: record.offset } : (checkpoint ?? { segment: 0, offset: 0 });
  const segments = [...disk.segments].sort((a, b) => a.n - b.n);
  const gone = (s: { n: number; bytes: number }): boolean => (!!checkpoint && s.n < checkpoint.segment) || s.bytes === 0;
  return {
    start,
    from: past ? 'resume' : checkpoint ? 'checkpoint' : 'oldest',
    checkpoint,
    earlierBoot,
    remove: segments.filter(gone).map((s) => s.n),
    keep: segments
      .filter((s) => !gone(s))
      .map(({ n, bytes }) => ({ n, bytes, from: n > start.segment ? 0 : n === start.segment ? Math.min(start.offset, bytes) : bytes })),
    nextSegment: (segments[segments.length - 1]?.n ?? 0) + 1,
  };
}
