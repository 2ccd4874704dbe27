import { describe, expect, it } from 'vitest';
import { splitJsonArray } from '../src/json-array-split.js';

function texts(body: string): Array<[string, boolean]> | null {
  const b = Buffer.from(body, 'utf8');
  const s = splitJsonArray(b);
  return s && s.map((e) => [b.toString('utf8', e.start, e.end), e.compact]);
}

describe('splitJsonArray', () => {
  it('gives each element its own bytes, compact when there is no whitespace outside strings', () => {
    expect(texts('[]')).toEqual([]);
    expect(texts(' \n[ ]\r\n')).toEqual([]);
    expect(texts('[{"a":1},{"b":[1,2,{"c":"]}"}]}]')).toEqual([
      ['{"a":1}', true],
      ['{"b":[1,2,{"c":"]}"}]}', true],
    ]);
    expect(texts('[\n  {"a": 1},\n  {"b":"x y"}\n]\n')).toEqual([
      ['{"a": 1}', false],
      ['{"b":"x y"}', true],
    ]);
    expect(texts('[1, "two" ,null,true,-2.5e3,[ ]]')).toEqual([
      ['1', true],
      ['"two"', true],
      ['null', true],
      ['true', true],
      ['-2.5e3', true],
      ['[ ]', false],
    ]);
  });

  it('handles escaped quotes and backslashes, and multi-byte UTF-8', () => {
    const body = JSON.stringify([{ s: 'say "hi" \\', t: 'é€😀,]}' }, { s: '\\\\"' }]);
    const got = texts(body);
    expect(got?.map(([t]) => JSON.parse(t))).toEqual(JSON.parse(body));
    expect(got?.every(([, c]) => c)).toBe(true);
  });

  it('is null for anything but a complete top-level array', () => {
    for (const bad of ['', '{"a":[1]}', '<html>', '[{"a":1}', '[{"a":1},', '[{"a":"x]', '[1,,2]', '[,1]', '[{"a":1}{"b":2}]', '[1] x', '[1]]']) {
      expect(texts(bad), bad).toBeNull();
    }
    // Tokens are not validated here: such an element does not parse, and the client falls back.
    expect(() => JSON.parse(texts('[1 2]')?.[0]?.[0] ?? '')).toThrow();
  });

  it('agrees with JSON.parse on a real-sized body', () => {
    const records = Array.from({ length: 300 }, (_, i) => ({ pbid: i, name: `r${i}`, nested: { list: [i, `"${i}"`, null], deep: { x: '\\' } } }));
    const body = JSON.stringify(records);
    const got = texts(body);
    expect(got?.map(([t]) => t)).toEqual(records.map((r) => JSON.stringify(r)));
  });
});
