import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { splitJsonArray, type ElementSlice } from '../src/json-array-split.js';
import { splitJsonArrayJs } from './reference-scanner.js';
import { splitJsonArrayWasm } from '../src/wasm-element-scanner.js';

type Split = (b: Uint8Array, fields?: readonly string[]) => ElementSlice[] | null;

/** A tiny deterministic PRNG so the fuzz cases are the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe.each([
  ['WebAssembly', splitJsonArray],
  ['JavaScript', splitJsonArrayJs],
])('splitJsonArray, %s scanner', (_name, splitJsonArray: Split) => {
  function texts(body: string): Array<[string, boolean]> | null {
    const b = Buffer.from(body, 'utf8');
    const s = splitJsonArray(b);
    return s && s.map((e) => [b.toString('utf8', e.start, e.end), e.compact]);
  }

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
    expect(texts('[1, "two" ,null,true,false,-2.5e3,0.5E+2,[ ],{ }]')).toEqual([
      ['1', true],
      ['"two"', true],
      ['null', true],
      ['true', true],
      ['false', true],
      ['-2.5e3', true],
      ['0.5E+2', true],
      ['[ ]', false],
      ['{ }', false],
    ]);
  });

  it('handles escapes and multi-byte UTF-8', () => {
    const body = JSON.stringify([{ s: 'say "hi" \\', t: 'é€😀,]}', u: '\u0001\n' }, { s: '\\\\"' }]);
    const got = texts(body);
    expect(got?.map(([t]) => JSON.parse(t))).toEqual(JSON.parse(body));
    expect(got?.every(([, c]) => c)).toBe(true);
  });

  it('is null for anything that is not a valid top-level array', () => {
    for (const notArray of ['{"a":[1]}', '"x"', '1']) expect(texts(notArray), notArray).toBeNull();
    const bad = ['', '<html>', '[{"a":1}', '[{"a":1},', '[{"a":"x]', '[1,,2]', '[,1]', '[1 2]', '[{"a":1}{"b":2}]', '[1] x', '[1]]',
      '[tru]', '[nul]', '[01]', '[1.]', '[.5]', '[1e]', '[-]', '[+1]', '["a\\x"]', '["\\u12g4"]', '["a\tb"]', '[{"a" 1}]', '[{"a":1,}]', '[{a:1}]', '[1,]', '[{"a":1]', '[[1}]'];
    for (const b of bad) {
      expect(texts(b), b).toBeNull();
      expect(() => JSON.parse(b), b).toThrow();
    }
  });

  it('reports where the wanted top-level fields of object elements are (last one wins, nested ones ignored)', () => {
    const body = '[{"pbid":7,"x":{"pbid":8},"creationTime":123,"pbid":9},{"y":1},5,{"pb\\u0069d":1}]';
    const b = Buffer.from(body);
    const s = splitJsonArray(b, ['pbid', 'creationTime']);
    const at = (e: number, f: number) => {
      const r = s?.[e]?.fields?.[f];
      return r ? b.toString('utf8', r[0], r[1]) : r;
    };
    expect(at(0, 0)).toBe('9');
    expect(at(0, 1)).toBe('123');
    expect(at(1, 0)).toBeUndefined();
    expect(s?.[2]?.fields).toBeNull(); // not an object
    expect(s?.[3]?.fields).toBeNull(); // key written with escapes: the caller decodes the element
  });

  it('agrees with JSON.parse on mutated bodies (fuzz): accepted only if valid, and then element by element', () => {
    const next = rng(12345);
    const base = JSON.stringify([
      { pbid: 1, s: 'a"b\\c', n: -1.5e-3, t: true, f: false, z: null, arr: [1, [2, {}], { k: 'v' }], u: 'é😀' },
      { pbid: 2, e: [], o: {} },
      'str',
      0,
    ]);
    const alphabet = '[]{}",:\\ \t\n0123456789-+.eEtrufalsn"ab\u0001';
    let accepted = 0;
    for (let n = 0; n < 4000; n++) {
      let body = base;
      const edits = 1 + Math.floor(next() * 3);
      for (let k = 0; k < edits; k++) {
        const at = Math.floor(next() * body.length);
        const ch = alphabet[Math.floor(next() * alphabet.length)] as string;
        const op = next();
        body = op < 0.33 ? body.slice(0, at) + body.slice(at + 1) : op < 0.66 ? body.slice(0, at) + ch + body.slice(at) : body.slice(0, at) + ch + body.slice(at + 1);
      }
      // What the client parses: the body's UTF-8 bytes decoded (a cut surrogate pair becomes U+FFFD).
      body = Buffer.from(body, 'utf8').toString('utf8');
      let parsed: unknown;
      let valid = true;
      try {
        parsed = JSON.parse(body);
      } catch {
        valid = false;
      }
      const got = texts(body);
      if (got === null) {
        expect(valid && Array.isArray(parsed), body).toBe(false);
        continue;
      }
      accepted++;
      expect(valid, body).toBe(true);
      expect(got.map(([t]) => JSON.parse(t)), body).toEqual(parsed);
    }
    expect(accepted).toBeGreaterThan(200);
  });

  it('agrees with JSON.parse on a real-sized body', () => {
    const records = Array.from({ length: 300 }, (_, i) => ({ pbid: i, name: `r${i}`, nested: { list: [i, `"${i}"`, null], deep: { x: '\\' } } }));
    const got = texts(JSON.stringify(records));
    expect(got?.map(([t]) => t)).toEqual(records.map((r) => JSON.stringify(r)));
  });
});

describe('the WebAssembly scanner', () => {
  it('is the only scanner: more wanted fields than its key slots is an error, not a slower path', () => {
    const body = Buffer.from('[{"a":1}]');
    expect(() => splitJsonArray(body, Array.from({ length: 100 }, (_, i) => `k${i}`))).toThrow(/cannot run/);
    expect(() => splitJsonArray(body, ['x'.repeat(64)])).toThrow(/cannot run/);
  });

  it('is what splitJsonArray runs, and agrees with the JavaScript one slice for slice (fuzz, with fields)', () => {
    const body = Buffer.from(JSON.stringify([{ pbid: 1, creationTime: 2 }]));
    expect(splitJsonArrayWasm(body, ['pbid'])).not.toBeUndefined();
    expect(splitJsonArray(body, ['pbid'])).toEqual(splitJsonArrayWasm(body, ['pbid']));
    const next = rng(777);
    const base = JSON.stringify([{ pbid: 1, creationTime: 5, s: 'a"b', n: [1, { pbid: 3 }] }, { creationTime: -1.5e2, pbid: 'x' }, [1], 'pbid', { 'pb\u0069d': 2 }]);
    const alphabet = '[]{}",:\\ \t\n0123456789-+.eEtrufalsn"pbid\u0001';
    for (let n = 0; n < 3000; n++) {
      let body = base;
      for (let k = 0, edits = 1 + Math.floor(next() * 3); k < edits; k++) {
        const at = Math.floor(next() * body.length);
        const ch = alphabet[Math.floor(next() * alphabet.length)] as string;
        body = next() < 0.5 ? body.slice(0, at) + ch + body.slice(at) : body.slice(0, at) + ch + body.slice(at + 1);
      }
      const b = Buffer.from(body, 'utf8');
      expect(splitJsonArray(b, ['pbid', 'creationTime']), body).toEqual(splitJsonArrayJs(b, ['pbid', 'creationTime']));
    }
  });

  it('scans bodies larger than its 1 MiB window: elements across the window edge, and one element of 3 MiB', () => {
    const next = rng(99);
    const records = Array.from({ length: 600 }, (_, i) => ({ pbid: i, pad: 'x'.repeat(Math.floor(next() * 8000)), creationTime: i * 7 }));
    records.splice(300, 0, { pbid: -1, pad: 'y'.repeat(3 * 1024 * 1024), creationTime: 1 });
    for (const body of [JSON.stringify(records), JSON.stringify(records, null, 1)]) {
      const b = Buffer.from(body);
      const got = splitJsonArray(b, ['pbid', 'creationTime']);
      expect(got).toEqual(splitJsonArrayJs(b, ['pbid', 'creationTime']));
      expect(got?.map((e) => JSON.parse(b.toString('utf8', e.start, e.end)))).toEqual(records);
      // Truncated anywhere, including inside the big element and at the very end: invalid.
      for (const cut of [b.length - 1, Math.floor(b.length / 2), 1024 * 1024 + 3]) expect(splitJsonArray(b.subarray(0, cut)), String(cut)).toBeNull();
    }
  });

  it('src/json-scan-wasm.ts is the compilation of assembly/json-scan.ts', () => {
    const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
    const out = execFileSync(process.execPath, [path.join(pkg, 'scripts/build-wasm.mjs'), '--check'], { encoding: 'utf8' });
    expect(out).toMatch(/matches/);
  }, 60_000);
});
