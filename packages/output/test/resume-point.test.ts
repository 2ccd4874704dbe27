/** Where sending starts when a disk spool opens: one row per case of what is on disk. */
import { describe, expect, it } from 'vitest';
import { chooseResumePoint, type ResumeChoice, type SpoolDisk } from '../src/spool/resume-point.js';
import { parseBootId, type ResumeRecord } from '../src/spool/resume-file.js';

const BOOT = parseBootId('66ac1295-cf91-4898-a42f-cb40ad9c32d3');
const OTHER_BOOT = parseBootId('00000000-1111-2222-3333-444444444444');
const cp = (segment: number, offset: number): string => JSON.stringify({ version: 1, segment, offset });
const rec = (segment: number, offset: number, bootId = BOOT): ResumeRecord => ({ sequence: 7, segment, offset, bootId });
const segs = (...s: Array<[number, number]>): SpoolDisk['segments'] => s.map(([n, bytes]) => ({ n, bytes }));
const CORRUPT = { error: 502 as const, problem: 'is corrupt (not a spool checkpoint: {"version":1,"segment":n,"offset":n})' };

const rows: Array<[string, Omit<SpoolDisk, 'bootId'>, ResumeChoice]> = [
  ['an empty directory: a fresh spool', { checkpoint: null, resume: null, segments: [] },
    { start: { segment: 0, offset: 0 }, from: 'oldest', checkpoint: null, earlierBoot: false, remove: [], keep: [], nextSegment: 1 }],
  ['segments only (the checkpoint was removed): everything from the oldest segment', { checkpoint: null, resume: null, segments: segs([3, 90], [2, 50]) },
    { start: { segment: 0, offset: 0 }, from: 'oldest', checkpoint: null, earlierBoot: false, remove: [], keep: [{ n: 2, from: 0, bytes: 50 }, { n: 3, from: 0, bytes: 90 }], nextSegment: 4 }],
  ['a clean stop: the checkpoint, segments behind it deleted, the empty one too', { checkpoint: cp(3, 40), resume: rec(3, 40), segments: segs([1, 70], [2, 80], [3, 90], [4, 0]) },
    { start: { segment: 3, offset: 40 }, from: 'checkpoint', checkpoint: { segment: 3, offset: 40 }, earlierBoot: false, remove: [1, 2, 4], keep: [{ n: 3, from: 40, bytes: 90 }], nextSegment: 5 }],
  ['a kill -9: the resume record past the checkpoint; a segment it passed kept, nothing read from it', { checkpoint: cp(2, 10), resume: rec(3, 30), segments: segs([2, 80], [3, 90], [4, 60]) },
    { start: { segment: 3, offset: 30 }, from: 'resume', checkpoint: { segment: 2, offset: 10 }, earlierBoot: false, remove: [], keep: [{ n: 2, from: 80, bytes: 80 }, { n: 3, from: 30, bytes: 90 }, { n: 4, from: 0, bytes: 60 }], nextSegment: 5 }],
  ['a kill -9 before any checkpoint: the resume record alone', { checkpoint: null, resume: rec(1, 20), segments: segs([1, 50]) },
    { start: { segment: 1, offset: 20 }, from: 'resume', checkpoint: null, earlierBoot: false, remove: [], keep: [{ n: 1, from: 20, bytes: 50 }], nextSegment: 2 }],
  ['a resume record behind the checkpoint (a torn slot\'s older one): the checkpoint', { checkpoint: cp(2, 60), resume: rec(2, 10), segments: segs([2, 80]) },
    { start: { segment: 2, offset: 60 }, from: 'checkpoint', checkpoint: { segment: 2, offset: 60 }, earlierBoot: false, remove: [], keep: [{ n: 2, from: 60, bytes: 80 }], nextSegment: 3 }],
  ['a resume record from before a reboot: ignored, the checkpoint', { checkpoint: cp(2, 10), resume: rec(2, 70, OTHER_BOOT), segments: segs([2, 80]) },
    { start: { segment: 2, offset: 10 }, from: 'checkpoint', checkpoint: { segment: 2, offset: 10 }, earlierBoot: true, remove: [], keep: [{ n: 2, from: 10, bytes: 80 }], nextSegment: 3 }],
  ['a resume record from before a reboot and no checkpoint: the oldest segment', { checkpoint: null, resume: rec(2, 70, OTHER_BOOT), segments: segs([2, 80]) },
    { start: { segment: 0, offset: 0 }, from: 'oldest', checkpoint: null, earlierBoot: true, remove: [], keep: [{ n: 2, from: 0, bytes: 80 }], nextSegment: 3 }],
  ['a position past a truncated segment\'s end: nothing of it is sent', { checkpoint: cp(2, 500), resume: null, segments: segs([2, 80], [3, 40]) },
    { start: { segment: 2, offset: 500 }, from: 'checkpoint', checkpoint: { segment: 2, offset: 500 }, earlierBoot: false, remove: [], keep: [{ n: 2, from: 80, bytes: 80 }, { n: 3, from: 0, bytes: 40 }], nextSegment: 4 }],
  ['a checkpoint pointing at a deleted segment (segments go before it is written): the oldest left', { checkpoint: cp(2, 80), resume: null, segments: segs([3, 40]) },
    { start: { segment: 2, offset: 80 }, from: 'checkpoint', checkpoint: { segment: 2, offset: 80 }, earlierBoot: false, remove: [], keep: [{ n: 3, from: 0, bytes: 40 }], nextSegment: 4 }],
  ['a checkpoint that is not JSON', { checkpoint: '{"version":1,"seg', resume: rec(1, 1), segments: segs([1, 50]) }, CORRUPT],
  ['a checkpoint of the wrong shape', { checkpoint: '{"version":1,"segment":"a","offset":0}', resume: null, segments: [] }, CORRUPT],
  ['a checkpoint of another version', { checkpoint: '{"version":2,"segment":1,"offset":0}', resume: null, segments: [] }, CORRUPT],
  ['a checkpoint that is JSON null', { checkpoint: 'null', resume: null, segments: [] }, CORRUPT],
];

describe('resume point', () => {
  it.each(rows)('%s', (_what, disk, expected) => {
    expect(chooseResumePoint({ ...disk, bootId: BOOT })).toEqual(expected);
  });
});
