import { afterEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../src/index.js';
import { clientFor, HOUR, NOW, startSim } from './helpers.js';

type Rec = Record<string, unknown>;
const sims: Simulator[] = [];
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
});
async function sim(extra: Parameters<typeof startSim>[0] = {}): Promise<Simulator> {
  const s = await startSim(extra);
  sims.push(s);
  return s;
}
const START = NOW - 3 * 24 * HOUR;

/** Pulls [from, to] in back-to-back 1 h windows (inclusive bounds, so windows end at +H-1). */
async function pullAll(s: Simulator, endpoint: string, extra: Rec, idKey: string, setClock = false): Promise<string[]> {
  let clockMs = NOW;
  // Both clocks move together, or the simulator would answer API DATE ERROR.
  const c = clientFor(s, { now: () => new Date(clockMs) });
  const ids: string[] = [];
  for (let t = START; t < NOW; t += HOUR) {
    const end = Math.min(t + HOUR - 1, NOW);
    if (setClock) {
      clockMs = end; // pulling "live": the window's end is the present
      s.setNow(end);
    }
    const page = (await c.get(endpoint, { starttime: t, endtime: end, ...extra } as Record<string, number | boolean>)) as Rec[];
    for (const r of page) ids.push(String(r[idKey]));
  }
  s.setNow(null);
  await c.close();
  return ids;
}

describe('/modelbreaches windows', () => {
  it('creationtime=true windows return exactly expectedIds, each once', async () => {
    const s = await sim({ modelBreachesPerHour: 20, lateCreatedShare: 0.3 });
    const ids = await pullAll(s, '/modelbreaches', { creationtime: true }, 'pbid');
    const expected = s.expectedIds('modelbreaches');
    expect(expected.length).toBeGreaterThan(1000);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual([...expected].sort());
  });

  it('a live cursor on `time` loses exactly the breaches created after their window was pulled', async () => {
    const s = await sim({ modelBreachesPerHour: 20, lateCreatedShare: 0.3, nowMs: () => NOW });
    const live = new Set(await pullAll(s, '/modelbreaches', {}, 'pbid', true));
    const all = (await clientFor(s).get('/modelbreaches', { starttime: START, endtime: NOW, creationtime: true })) as Rec[];
    const windowEnd = (t: number) => START + Math.floor((t - START) / HOUR) * HOUR + HOUR - 1;
    const createdTooLate = all.filter((r) => (r['creationTime'] as number) > windowEnd(r['time'] as number)).map((r) => String(r['pbid']));
    const late = all.filter((r) => (r['creationTime'] as number) - (r['time'] as number) >= HOUR);
    expect(late.length).toBeGreaterThan(100);
    const missing = s.expectedIds('modelbreaches').filter((id) => !live.has(id));
    expect(missing.sort()).toEqual(createdTooLate.sort());
  });

  it('records have the fixture shape with fresh values, pbid increases with time', async () => {
    const s = await sim({ modelBreachesPerHour: 5, order: 'oldest-first' });
    const page = (await clientFor(s).get('/modelbreaches', { starttime: NOW - 6 * HOUR, endtime: NOW })) as Rec[];
    expect(page.length).toBeGreaterThan(10);
    for (const k of ['commentCount', 'pbid', 'time', 'creationTime', 'model', 'triggeredComponents', 'score', 'device']) expect(page[0]).toHaveProperty(k);
    expect((page[0]!['model'] as Rec)['then']).toHaveProperty('name');
    const times = page.map((r) => r['time'] as number);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    const pbids = page.map((r) => r['pbid'] as number);
    expect(pbids).toEqual([...pbids].sort((a, b) => a - b));
    const one = await clientFor(s).get('/modelbreaches', { pbid: pbids[0]! });
    expect(one).toMatchObject({ pbid: pbids[0] });
    const historic = (await clientFor(s).get('/modelbreaches', { starttime: NOW - HOUR, endtime: NOW, historicmodelonly: true })) as Rec[];
    expect((historic[0]!['model'] as Rec)['name']).toBeTypeOf('string');
  });

  it('is newest-first by default, and deterministic per seed', async () => {
    const a = await sim();
    const b = await sim();
    const c = await sim({ seed: 8 });
    const q = { starttime: START, endtime: NOW };
    const pa = (await clientFor(a).get('/modelbreaches', q)) as Rec[];
    const times = pa.map((r) => r['time'] as number);
    expect(times).toEqual([...times].sort((x, y) => y - x));
    expect(await clientFor(b).get('/modelbreaches', q)).toEqual(pa);
    expect(a.expectedIds('aianalyst_incidentevents')).toEqual(b.expectedIds('aianalyst_incidentevents'));
    expect(c.expectedIds('aianalyst_incidentevents')).not.toEqual(a.expectedIds('aianalyst_incidentevents'));
  });

  it('a breach added live shows up with a larger pbid', async () => {
    const s = await sim();
    const before = s.expectedIds('modelbreaches').map(Number);
    const added = s.addModelBreach({ score: 0.99 });
    expect(added['pbid']).toBeGreaterThan(Math.max(...before));
    const page = (await clientFor(s).get('/modelbreaches', { starttime: NOW - 60_000, endtime: NOW, creationtime: true })) as Rec[];
    expect(page.map((r) => r['pbid'])).toContain(added['pbid']);
    expect(page.find((r) => r['pbid'] === added['pbid'])).toMatchObject({ score: 0.99 });
    expect(s.expectedIds('modelbreaches')).toContain(String(added['pbid']));
  });

  it('generates 30 days at 60 breaches/hour cheaply', async () => {
    const s = await sim({ modelBreachesPerHour: 60, dataStartMs: NOW - 30 * 24 * HOUR });
    const t0 = performance.now();
    const ids = s.expectedIds('modelbreaches');
    expect(ids.length).toBeGreaterThan(40_000);
    const page = (await clientFor(s).get('/modelbreaches', { starttime: NOW - 4 * HOUR, endtime: NOW })) as Rec[];
    expect(page.length).toBeGreaterThan(150);
    expect(performance.now() - t0).toBeLessThan(3000);
  });
});

describe('/aianalyst/incidentevents', () => {
  it('includeallpinned=false windows return exactly expectedIds', async () => {
    const s = await sim({ aiEventsPerHour: 3 });
    const ids = await pullAll(s, '/aianalyst/incidentevents', { includeallpinned: false }, 'id');
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual([...s.expectedIds('aianalyst_incidentevents')].sort());
  });

  it('pinned events come back on every poll unless includeallpinned=false', async () => {
    const s = await sim({ pinnedAiEvents: 3 });
    const c = clientFor(s);
    const recent = { starttime: NOW - HOUR, endtime: NOW };
    const withPinned = (await c.get('/aianalyst/incidentevents', recent)) as Rec[];
    const pinned = withPinned.filter((r) => r['pinned'] === true);
    expect(pinned).toHaveLength(3);
    for (const p of pinned) expect(p['createdAt']).toBeLessThan(NOW - HOUR);
    const without = (await c.get('/aianalyst/incidentevents', { ...recent, includeallpinned: false })) as Rec[];
    expect(without.some((r) => r['pinned'] === true)).toBe(false);
    expect(without.length).toBe(withPinned.length - 3);
    const only = (await c.get('/aianalyst/incidentevents', { ...recent, includeonlypinned: true })) as Rec[];
    expect(only.map((r) => r['id']).sort()).toEqual(pinned.map((r) => r['id']).sort());
    await c.close();
  });

  it('groupScore of some events grows on later polls, ids stay the same', async () => {
    const s = await sim({ aiEventsPerHour: 10 });
    const c = clientFor(s);
    const q = { starttime: START, endtime: NOW, includeallpinned: false };
    const first = (await c.get('/aianalyst/incidentevents', q)) as Rec[];
    const second = (await c.get('/aianalyst/incidentevents', q)) as Rec[];
    const score = new Map(first.map((r) => [r['id'], r['groupScore'] as number]));
    const grown = second.filter((r) => (r['groupScore'] as number) > (score.get(r['id']) ?? Infinity));
    expect(grown.length).toBeGreaterThan(0);
    expect(grown.length).toBeLessThan(second.length / 3);
    expect(new Set(second.map((r) => r['id']))).toEqual(new Set(first.map((r) => r['id'])));
    await c.close();
  });
});

describe('/antigena, /status, /summarystatistics', () => {
  it('includecleared=true windows return exactly expectedIds; cleared are hidden by default', async () => {
    const s = await sim({ antigenaPerHour: 4 });
    const ids = await pullAll(s, '/antigena', { includecleared: true }, 'codeid');
    expect([...ids].sort()).toEqual([...s.expectedIds('antigena')].sort());
    const c = clientFor(s);
    const dflt = (await c.get('/antigena', { starttime: START, endtime: NOW })) as Rec[];
    expect(dflt.length).toBeLessThan(ids.length);
    expect(dflt.some((r) => r['cleared'] === true)).toBe(false);
    const r = dflt[0]!;
    for (const k of ['codeid', 'did', 'ip', 'action', 'label', 'detail', 'manual', 'triggerer', 'score', 'pbid', 'model', 'modeluuid', 'start', 'expires', 'updated', 'blocked', 'active', 'cleared']) {
      expect(r).toHaveProperty(k);
    }
    expect(r['updated']).toBeTypeOf('string');
    await c.close();
  });

  it('snapshots answer with the documented fields', async () => {
    const s = await sim();
    const c = clientFor(s);
    expect(await c.get('/status')).toMatchObject({ type: 'master', time: '2024-03-01 00:00:00', version: expect.any(String) });
    expect(await c.get('/summarystatistics')).toMatchObject({ subnets: expect.any(Number), devicecount: { total: expect.any(Number) } });
    expect(await c.get('/summarystatistics', { responsedata: 'subnets' })).toEqual({ subnets: 4 });
    await c.close();
  });

  it('logs requests with their query, status and sim time', async () => {
    const s = await sim({ latencyMs: 30 });
    const c = clientFor(s);
    const t0 = performance.now();
    await c.get('/status', { fast: true });
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
    expect(s.requestLog()).toEqual([{ path: '/status', query: { fast: 'true' }, status: 200, timeMs: NOW }]);
    await c.close();
  });
});
