import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { packRecords, recordTexts, textRecords } from '@devo-collector/common';
import {
  DEVO_DEFAULT_DATE,
  encodeDevoLine,
  formatBatch,
  formatDevoDate,
  formatDevoLine,
  formatFrames,
  frameOctetCounted,
  splitFrameLines,
} from '../src/format.js';
import { formatLookupField, lookupLines, type LookupSpec } from '../src/lookup-format.js';
import { fixturesDir, sharedWireCaptures } from './helpers/paths.js';

const fixture = (name: string): Buffer => readFileSync(path.join(fixturesDir, name));
const HOST = 'devo-collector-host';
const AT = Date.UTC(2024, 4, 1, 12, 34, 56, 789);

describe('fixture copies', () => {
  const names = [
    '01_plain_collector_style.bin',
    '02_default_date_embedded_newline.bin',
    '03_multiline_octet_counted.bin',
    '05_utf8.bin',
    '06_lookup_inc_with_delete.bin',
    '07_lookup_full_typed_escape_quotes.bin',
  ];
  it.skipIf(!existsSync(sharedWireCaptures))('are identical to ../shared wire captures', () => {
    for (const n of names) expect(fixture(n).equals(readFileSync(path.join(sharedWireCaptures, n)))).toBe(true);
  });
});

describe('formatDevoLine', () => {
  it('01: collector-style line, byte-exact', () => {
    const line = formatDevoLine({
      hostname: HOST,
      tag: 'my.app.darktrace.modelbreach',
      message: '{"pbid":1234,"score":0.87}',
      date: formatDevoDate(AT),
    });
    expect(Buffer.from(line, 'utf8').equals(fixture('01_plain_collector_style.bin'))).toBe(true);
  });

  it('02: default date, embedded LF left as is', () => {
    const b = encodeDevoLine({ hostname: HOST, tag: 'my.app.test.one', message: 'line1\nline2', date: DEVO_DEFAULT_DATE }, false);
    expect(b.equals(fixture('02_default_date_embedded_newline.bin'))).toBe(true);
  });

  it('03: RFC 6587 octet counting, length counts the LF', () => {
    const b = encodeDevoLine({ hostname: HOST, tag: 'my.app.test.one', message: 'line1\nline2', date: formatDevoDate(AT) }, true);
    expect(b.equals(fixture('03_multiline_octet_counted.bin'))).toBe(true);
    expect(b.subarray(0, 3).toString()).toBe('77 ');
  });

  it('05: UTF-8 on the wire', () => {
    const b = encodeDevoLine({ hostname: HOST, tag: 'my.app.test.one', message: 'café ☃', date: formatDevoDate(AT) }, false);
    expect(b.equals(fixture('05_utf8.bin'))).toBe(true);
  });

  it('does not add a second LF and formats the UTC date with ms', () => {
    expect(formatDevoLine({ hostname: 'h', tag: 't', message: 'x\n', date: 'd' })).toBe('<14>d h t: x\n');
    expect(formatDevoDate(Date.UTC(2023, 0, 2, 3, 4, 5, 6))).toBe('2023-01-02 03:04:05.006');
  });

  it('a 1 MB record is neither split nor altered, in both framings', () => {
    const record = JSON.stringify({ id: 1, blob: 'é'.repeat(300_000) + 'x'.repeat(450_000) });
    const batch = { tag: 'my.app.big', ...textRecords([record, '{"n":2}']), createdAtMs: AT };
    for (const oc of [false, true]) {
      const lines = splitFrameLines(formatBatch(batch, HOST, oc));
      expect(lines).toHaveLength(2);
      expect(lines[0]).toBe(`<14>2024-05-01 12:34:56.789 ${HOST} my.app.big: ${record}\n`);
    }
    const framed = frameOctetCounted(`<14>x h t: ${record}\n`);
    expect(Number(framed.subarray(0, framed.indexOf(0x20)).toString())).toBe(Buffer.byteLength(`<14>x h t: ${record}\n`));
  });
});

describe('formatBatch', () => {
  const tricky = [
    '{"pbid":1,"score":0.87}',
    'café ☃ 𝄞', // 2-, 3- and 4-byte UTF-8
    'line1\nline2', // embedded LF kept
    'ends with LF\n', // no second LF
    '', // empty message still gets its LF
    'lone surrogate \ud800 here', // encoded as U+FFFD, as Buffer.from does
    'x'.repeat(70_000), // a long line (5-digit octet count)
  ];

  it('is byte-identical to one encodeDevoLine per record, in both framings', () => {
    for (const oc of [false, true]) {
      const expected = Buffer.concat(
        tricky.map((message) => encodeDevoLine({ hostname: HOST, tag: 'my.app.test.one', message, date: formatDevoDate(AT) }, oc)),
      );
      expect(formatBatch({ tag: 'my.app.test.one', ...textRecords(tricky), createdAtMs: AT }, HOST, oc).equals(expected), `octet counting ${oc}`).toBe(true);
    }
    expect(formatBatch({ tag: 't', ...textRecords([]), createdAtMs: AT }, HOST, true).length).toBe(0);
  });

  it('matches the wire captures (03 octet-counted, 05 UTF-8) when given as a batch', () => {
    const one = (message: string, oc: boolean): Buffer => formatBatch({ tag: 'my.app.test.one', ...textRecords([message]), createdAtMs: AT }, HOST, oc);
    expect(one('line1\nline2', true).equals(fixture('03_multiline_octet_counted.bin'))).toBe(true);
    expect(one('café ☃', false).equals(fixture('05_utf8.bin'))).toBe(true);
  });
});

describe('lookup lines', () => {
  it('06: INC with an add and a DELETE row, byte-exact', () => {
    const spec: LookupSpec = {
      name: 'darktrace_devices',
      lookupId: '1714566896.123456',
      columns: [
        { name: 'did', type: 'str' },
        { name: 'hostname', type: 'str' },
        { name: 'ip', type: 'str' },
      ],
      keyIndex: 0,
    };
    const lines = lookupLines(spec, 'INC', HOST, [['42', 'ws-01', '10.0.0.5']], [['43', 'say "hi"', '10.0.0.6']]);
    expect(Buffer.from(lines.join(''), 'utf8').equals(fixture('06_lookup_inc_with_delete.bin'))).toBe(true);
  });

  it('07: FULL with escape_quotes, numeric-looking values unquoted', () => {
    const spec: LookupSpec = {
      name: 'colors',
      lookupId: '1714566896.5',
      columns: [
        { name: 'KEY', type: 'str' },
        { name: 'COLOR', type: 'str' },
        { name: 'HEX', type: 'str' },
      ],
      keyIndex: 0,
      escapeQuotes: true,
    };
    const lines = lookupLines(spec, 'FULL', HOST, [
      ['1', 'Red', 'd62d20'],
      ['2', 'Gr"een', '008744'],
    ]);
    expect(Buffer.from(lines.join(''), 'utf8').equals(fixture('07_lookup_full_typed_escape_quotes.bin'))).toBe(true);
  });

  it('key column goes first; escape options', () => {
    const spec: LookupSpec = { name: 'k', lookupId: '1', columns: [{ name: 'a', type: 'str' }, { name: 'id', type: 'int' }], keyIndex: 1 };
    const lines = lookupLines(spec, 'FULL', 'h', [['x', '7']]);
    expect(lines[0]).toContain('|START|[{"id":{"type":"int","key":true}},{"a":{"type":"str"}}]');
    expect(lines[1]).toContain('|7,"x"\n');
    expect(formatLookupField(' a\nb ', false, true)).toBe('"a\\nb"');
    expect(formatLookupField('-1.5')).toBe('-1.5');
    expect(() => lookupLines({ ...spec, name: 'bad-name' }, 'FULL', 'h', [])).toThrow(RangeError);
  });
});

describe('formatFrames over records in the one form (bytes plus bounds)', () => {
  const records = ['{"pbid":1,"t":"é €"}', '{"pbid":2,"s":"\\u00e9\\n"}', '{}', `{"pad":"${'x'.repeat(70_000)}"}`];
  const batch = { tag: 'edr.darktrace.respond.model_breach', createdAtMs: Date.UTC(2024, 4, 1, 12, 34, 56, 789), ...textRecords(records) };

  it('formats only the records a replay filter kept (bounds without theirs)', () => {
    const kept = { ...batch, bounds: new Uint32Array([...batch.bounds.subarray(0, 2), ...batch.bounds.subarray(4)]) };
    const expected = formatBatch({ ...batch, ...textRecords(records.filter((_, i) => i !== 1)) }, 'h', true);
    expect(formatBatch(kept, 'h', true).equals(expected)).toBe(true);
    expect(recordTexts(batch)).toEqual(records);
  });
});

describe('packRecords (records as views of the response they came from)', () => {
  const records = ['{"pbid":1,"t":"é €"}', '{"pbid":2}', '{}', `{"pad":"${'x'.repeat(70_000)}"}`];
  const body = Buffer.from(`[${records.join(',')}]`, 'utf8');
  const views: Buffer[] = [];
  for (let at = 1, k = 0; k < records.length; k++) {
    const n = Buffer.byteLength(records[k] as string);
    views.push(body.subarray(at, at + n));
    at += n + 1;
  }
  const batch = { tag: 't.a.g', createdAtMs: Date.UTC(2024, 4, 1), ...textRecords(records) };

  it('sends a run of records as one view of the response plus bounds: no copy, the same Devo bytes', () => {
    const p = packRecords(views);
    expect(p.data.buffer).toBe(body.buffer); // a view, not a copy
    expect(p.bytes).toBe(batch.bytes);
    for (const octet of [false, true]) expect(formatBatch({ ...batch, ...p }, 'h', octet).equals(formatBatch(batch, 'h', octet))).toBe(true);
    expect(recordTexts(p)).toEqual(records);
    // with a record dropped in between (a duplicate): still a view, the bounds skip it
    const q = packRecords([views[0]!, views[1]!, views[3]!]);
    expect(q.data.buffer).toBe(body.buffer);
    expect(recordTexts(q)).toEqual([records[0], records[1], records[3]]);
  });

  it('copies the records back to back when they are not in order in one buffer, or mostly gaps', () => {
    const tail = body.subarray(body.length - 3, body.length - 1); // 70 KB of other records before it
    for (const items of [[views[1]!, views[0]!], [views[0]!, Buffer.from(records[1]!)], [views[0]!, tail]]) {
      const p = packRecords(items);
      expect(p.data.buffer).not.toBe(body.buffer);
      expect(Buffer.from(p.data).equals(Buffer.concat(items))).toBe(true);
      expect(recordTexts(p)).toEqual(items.map((b) => b.toString()));
    }
    expect(packRecords([views[2]!]).bounds).toEqual(new Uint32Array([0, 2]));
    expect(packRecords([])).toMatchObject({ bytes: 0, bounds: new Uint32Array(0) });
  });
});

describe('formatFrames (a batch cut into spool frames)', () => {
  // Sizes around the targets below, multi-byte UTF-8, one record far bigger than any target.
  const records = [
    '{"pbid":1}',
    `{"pbid":2,"t":"${'é'.repeat(40)}"}`,
    `{"pbid":3,"pad":"${'x'.repeat(200)}"}`,
    '{}',
    `{"pbid":5,"big":"${'y'.repeat(5_000)}"}`,
    ...Array.from({ length: 30 }, (_, i) => `{"pbid":${6 + i},"v":"${'z'.repeat((i * 37) % 90)}"}`),
  ];
  const batch = { tag: 'edr.darktrace.respond.model_breach', createdAtMs: AT, ...textRecords(records) };
  const targets = [1, 120, 300, 1_000, 32 * 1024, Infinity];

  it('the frames concatenated are the single-frame bytes, every record in exactly one frame, in order', () => {
    for (const oc of [false, true]) {
      const whole = formatBatch(batch, HOST, oc);
      for (const t of targets) {
        const frames = formatFrames(batch, HOST, oc, t);
        expect(Buffer.concat(frames.map((f) => f.payload)).equals(whole), `octet counting ${oc}, target ${t}`).toBe(true);
        expect(frames.reduce((n, f) => n + f.messages, 0)).toBe(records.length);
        expect(frames.map((f) => splitFrameLines(f.payload).length)).toEqual(frames.map((f) => f.messages));
      }
    }
  });

  it('no frame exceeds the target unless it holds one record; frames are as full as the target allows', () => {
    for (const oc of [false, true]) {
      for (const t of targets) {
        const frames = formatFrames(batch, HOST, oc, t);
        frames.forEach((f, i) => {
          if (f.messages > 1) expect(f.payload.length, `octet counting ${oc}, target ${t}`).toBeLessThanOrEqual(t);
          // Greedy: the next frame's first record would not have fitted into this one.
          const next = frames[i + 1];
          if (next) {
            const firstOfNext = formatBatch({ ...batch, ...textRecords([records[frames.slice(0, i + 1).reduce((n, x) => n + x.messages, 0)] as string]) }, HOST, oc);
            expect(f.payload.length + firstOfNext.length).toBeGreaterThan(t);
          }
        });
      }
      expect(formatFrames(batch, HOST, oc, 1).every((f) => f.messages === 1)).toBe(true);
      expect(formatFrames(batch, HOST, oc, Infinity)).toHaveLength(1);
    }
    expect(formatFrames({ ...batch, ...textRecords([]) }, HOST, true, 1_000)).toEqual([]);
  });
});
