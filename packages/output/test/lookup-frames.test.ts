/**
 * A lookup job -> devo-sdk's lines, byte-compared with the SDK's own captures (06, 07), and as
 * spool frames (order kept, octet counting, frame bound).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { serializeLookupJob, textRecords, type EventBatch, type LookupJob } from '@devo-collector/common';
import { frameOctetCounted, parseDevoLine, splitFrameLines } from '../src/format.js';
import { lookupJobLines } from '../src/lookup-format.js';
import { formatLookupFrames } from '../src/lookup-frames.js';
import { fixturesDir } from './helpers/paths.js';

const fixture = (name: string): Buffer => readFileSync(path.join(fixturesDir, name));
const HOST = 'devo-collector-host';
const col = (name: string) => ({ name, type: 'str' as const });

const job06: LookupJob = {
  name: 'darktrace_devices',
  action: 'INC',
  lookupId: '1714566896.123456',
  columns: [col('did'), col('hostname'), col('ip')],
  keyIndex: 0,
  upserts: [['42', 'ws-01', '10.0.0.5']],
  deletes: [['43', 'say "hi"', '10.0.0.6']],
};

const job07: LookupJob = {
  name: 'colors',
  action: 'FULL',
  lookupId: '1714566896.5',
  columns: [col('KEY'), col('COLOR'), col('HEX')],
  keyIndex: 0,
  upserts: [
    ['1', 'Red', 'd62d20'],
    ['2', 'Gr"een', '008744'],
  ],
  deletes: [],
};

const batchOf = (job: LookupJob): Pick<EventBatch, 'data' | 'bounds'> => textRecords([serializeLookupJob(job)]);

describe('lookup job lines', () => {
  it('07: a FULL job is byte-equal to the SDK capture (escape_quotes, numeric-looking values unquoted)', () => {
    expect(Buffer.from(lookupJobLines(job07, HOST).join(''), 'utf8').equals(fixture('07_lookup_full_typed_escape_quotes.bin'))).toBe(true);
  });

  it('06: an INC job with a DELETE row is the SDK capture, the quote doubled (the encoder escapes quotes, as 07)', () => {
    const expected = fixture('06_lookup_inc_with_delete.bin').toString('utf8').replace('"say "hi""', '"say ""hi"""');
    expect(lookupJobLines(job06, HOST).join('')).toBe(expected);
    // Without a quote in the data, the bytes are the capture's exactly.
    const plain = { ...job06, deletes: [['43', 'say hi', '10.0.0.6']] };
    expect(lookupJobLines(plain, HOST).join('')).toBe(fixture('06_lookup_inc_with_delete.bin').toString('utf8').replace('"say "hi""', '"say hi"'));
  });

  it('a LF in a value stays inside its line', () => {
    const lines = lookupJobLines({ ...job07, upserts: [['1', 'a\nb', 'x']] }, HOST);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toContain('|1,"a\\nb","x"\n');
  });
});

describe('lookup frames', () => {
  it('one frame holds the job lines in order, LF framing', () => {
    const frames = formatLookupFrames(batchOf(job06), HOST, false, 32 * 1024);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.messages).toBe(4);
    expect(frames[0]!.payload.toString('utf8')).toBe(lookupJobLines(job06, HOST).join(''));
  });

  it('octet counting frames each line; a small bound cuts frames between lines, order kept', () => {
    const lines = lookupJobLines(job07, HOST);
    const frames = formatLookupFrames(batchOf(job07), HOST, true, 200);
    expect(frames.length).toBeGreaterThan(1);
    expect(frames.reduce((n, f) => n + f.messages, 0)).toBe(4);
    expect(Buffer.concat(frames.map((f) => f.payload)).equals(Buffer.concat(lines.map((l) => frameOctetCounted(l))))).toBe(true);
    const back = frames.flatMap((f) => splitFrameLines(f.payload)).map((l) => parseDevoLine(l)!);
    expect(back.map((l) => l.tag)).toEqual([
      'my.lookup.control.colors.FULL',
      'my.lookup.data.colors',
      'my.lookup.data.colors',
      'my.lookup.control.colors.FULL',
    ]);
  });

  it('a record that is not a job is refused with a RangeError', () => {
    expect(() => formatLookupFrames(textRecords(['{"name":"x"}']), HOST, false, 1000)).toThrow(RangeError);
  });
});
