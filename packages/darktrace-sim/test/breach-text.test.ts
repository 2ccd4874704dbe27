import { describe, expect, it } from 'vitest';
import { renderBreachesJson, renderBreachText } from '../src/breach-text.js';
import { renderBreach, type BreachRow } from '../src/breaches.js';
import { rngFor } from '../src/prng.js';

describe('renderBreachText', () => {
  it('is JSON.stringify(renderBreach(r)) for every model/device variant, both model forms, any numbers', () => {
    const rng = rngFor(3, 'breach-text-test');
    const rows: BreachRow[] = [];
    for (let i = 0; i < 400; i++) {
      const time = 1_700_000_000_000 + Math.floor(rng() * 1e9);
      rows.push({ pbid: i * 7919 + 1, time, creationTime: time + Math.floor(rng() * 40_000), score: Math.round(rng() * 1000) / 1000, variant: Math.floor(rng() * 1_000_000) });
    }
    // Edge values: integer and zero scores, a small exponent, variant 0.
    rows.push({ pbid: 0, time: 0, creationTime: 0, score: 0, variant: 0 });
    rows.push({ pbid: 5, time: 1, creationTime: 2, score: 1, variant: 191 });
    rows.push({ pbid: 6, time: 1, creationTime: 2, score: 1e-7, variant: 7 });
    for (const historicModelOnly of [false, true]) {
      for (const r of rows) expect(renderBreachText(r, { historicModelOnly })).toBe(JSON.stringify(renderBreach(r, { historicModelOnly })));
    }
  });

  it('renders records added live with their overrides (new keys, replaced values) like the object form', () => {
    const r: BreachRow = {
      pbid: 42,
      time: 1_700_000_000_000,
      creationTime: 1_700_000_010_000,
      score: 0.5,
      variant: 12345,
      overrides: { score: 0.99, extra: { note: 'live' }, commentCount: 3 },
    };
    const text = renderBreachText(r, { historicModelOnly: false });
    expect(text).toBe(JSON.stringify(renderBreach(r, { historicModelOnly: false })));
    expect(JSON.parse(text)).toMatchObject({ score: 0.99, extra: { note: 'live' }, commentCount: 3, pbid: 42 });
  });

  it('renderBreachesJson is the UTF-8 of JSON.stringify of the rendered array, with live-added (non-ASCII) records mixed in', () => {
    const rng = rngFor(4, 'breaches-json-test');
    const rows: BreachRow[] = Array.from({ length: 50 }, (_, i) => ({ pbid: i + 1, time: 1_700_000_000_000 + i, creationTime: 1_700_000_000_500 + i, score: Math.round(rng() * 1000) / 1000, variant: Math.floor(rng() * 1_000_000) }));
    rows.splice(7, 0, { pbid: 999, time: 1, creationTime: 2, score: 0.5, variant: 3, overrides: { note: 'café €' } });
    for (const historicModelOnly of [false, true]) {
      const expected = JSON.stringify(rows.map((r) => renderBreach(r, { historicModelOnly })));
      expect(renderBreachesJson(rows, { historicModelOnly }).toString('utf8')).toBe(expected);
    }
    expect(renderBreachesJson([], { historicModelOnly: false }).toString()).toBe('[]');
  });
});
