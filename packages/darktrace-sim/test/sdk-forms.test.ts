/**
 * The simulator accepts the requests the Darktrace Python SDK makes (reference §8), and filters by
 * score as the appliance does. `sdkGet` writes a request exactly as `darktrace-sdk` 0.10 builds it:
 * keys sorted, the signature over `path?k=str(v)&...` (raw values, Python's `True`/`False`), the
 * date `YYYY-MM-DD HH:MM:SS`, and the query sent through `requests`' urlencode (quote_plus: a
 * space is `+`, `:` is `%3A`).
 */
import { createHmac } from 'node:crypto';
import { buildPathAndQuery, formatDtapiDate, signRequest } from '@devo-collector/darktrace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../src/index.js';
import { HOUR, NOW, PRIV, PUB, startSim } from './helpers.js';

type PyValue = string | number | boolean;

/** Python's str(): booleans are `True` / `False`. */
const pyStr = (v: PyValue): string => (typeof v === 'boolean' ? (v ? 'True' : 'False') : String(v));

/** urllib.parse.quote_plus: only [A-Za-z0-9_.~-] stay, a space becomes `+`. */
const quotePlus = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%20/g, '+');

function sdkDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

async function sdkGet(sim: Simulator, path: string, params: Record<string, PyValue>): Promise<{ status: number; body: any; sent: string; signedText: string }> {
  const sorted = Object.entries(params).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const signedText = sorted.length ? `${path}?${sorted.map(([k, v]) => `${k}=${pyStr(v)}`).join('&')}` : path;
  const date = sdkDate(NOW);
  const signature = createHmac('sha1', PRIV).update(`${signedText}\n${PUB}\n${date}`, 'ascii').digest('hex');
  const sent = sorted.length ? `${path}?${sorted.map(([k, v]) => `${quotePlus(k)}=${quotePlus(pyStr(v))}`).join('&')}` : path;
  const res = await fetch(`${sim.url}${sent}`, {
    headers: { 'DTAPI-Token': PUB, 'DTAPI-Date': date, 'DTAPI-Signature': signature, 'Content-Type': 'application/json' },
    redirect: 'manual',
  });
  const text = await res.text();
  return { status: res.status, body: text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text, sent, signedText };
}

/** Our client's form: lowercase booleans, unreserved characters only, compact date. */
async function ourGet(sim: Simulator, path: string, query: Record<string, PyValue>): Promise<{ status: number; body: any }> {
  const pq = buildPathAndQuery(path, query);
  const date = formatDtapiDate(new Date(NOW));
  const res = await fetch(`${sim.url}${pq}`, { headers: { 'DTAPI-Token': PUB, 'DTAPI-Date': date, 'DTAPI-Signature': signRequest(pq, PUB, PRIV, date) } });
  return { status: res.status, body: await res.json() };
}

let sim: Simulator;
beforeAll(async () => {
  sim = await startSim({ modelBreachesPerHour: 20, aiEventsPerHour: 6, pinnedAiEvents: 2 });
});
afterAll(() => sim.close());

const ymd = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
const pbids = (rows: Array<{ pbid: number }>) => rows.map((r) => r.pbid).sort((a, b) => a - b);
const ids = (rows: Array<{ id: string }>) => rows.map((r) => r.id).sort();

describe('the Python SDK request forms', () => {
  it('signs raw values and sends them encoded: accepted, same answer as our starttime/endtime form', async () => {
    const from = NOW - 6 * HOUR;
    const to = NOW - 2 * HOUR;
    const sdk = await sdkGet(sim, '/modelbreaches', { from: ymd(from), to: ymd(to) });
    // The two forms really differ, so only the decoded-query check can accept it.
    expect(sdk.sent).toContain('from=2024-02-29+18%3A00%3A00');
    expect(sdk.signedText).toContain('from=2024-02-29 18:00:00');
    expect(sdk.status).toBe(200);
    const ours = await ourGet(sim, '/modelbreaches', { starttime: from, endtime: to });
    expect(sdk.body.length).toBeGreaterThan(10);
    expect(pbids(sdk.body)).toEqual(pbids(ours.body));
  });

  it('sends Python booleans: True/False mean what true/false mean', async () => {
    const win = { starttime: NOW - 12 * HOUR, endtime: NOW };
    const sdkTrue = await sdkGet(sim, '/modelbreaches', { ...win, creationtime: true, includeacknowledged: true });
    expect(sdkTrue.sent).toContain('creationtime=True');
    expect(sdkTrue.status).toBe(200);
    const lower = await ourGet(sim, '/modelbreaches', { ...win, creationtime: true, includeacknowledged: true });
    const byTime = await ourGet(sim, '/modelbreaches', win);
    expect(pbids(sdkTrue.body)).toEqual(pbids(lower.body));
    // creationtime changes the answer (late-created breaches), so True was not ignored.
    expect(pbids(lower.body)).not.toEqual(pbids(byTime.body));

    const sdkFalse = await sdkGet(sim, '/aianalyst/incidentevents', { ...win, includeallpinned: false });
    expect(sdkFalse.sent).toContain('includeallpinned=False');
    const lowerFalse = await ourGet(sim, '/aianalyst/incidentevents', { ...win, includeallpinned: false });
    const withPinned = await ourGet(sim, '/aianalyst/incidentevents', win);
    expect(ids(sdkFalse.body)).toEqual(ids(lowerFalse.body));
    expect(withPinned.body.length).toBe(lowerFalse.body.length + 2);
  });

  it('still refuses a signature over another query, in either form', async () => {
    const date = sdkDate(NOW);
    const sig = createHmac('sha1', PRIV).update(`/modelbreaches?from=2024-02-29 18:00:01\n${PUB}\n${date}`).digest('hex');
    const res = await fetch(`${sim.url}/modelbreaches?from=2024-02-29+18%3A00%3A00`, { headers: { 'DTAPI-Token': PUB, 'DTAPI-Date': date, 'DTAPI-Signature': sig } });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ response: 'API SIGNATURE ERROR' });
  });

  it('answers /status and /devices to the SDK (no query, and a boolean + encoded seensince)', async () => {
    expect((await sdkGet(sim, '/status', {})).status).toBe(200);
    const devices = await sdkGet(sim, '/devices', { includetags: true, seensince: '2 day' });
    expect(devices.sent).toContain('seensince=2+day');
    expect(devices.status).toBe(200);
    expect(devices.body.length).toBeGreaterThan(5);
    expect(devices.body[0]).toHaveProperty('tags');
  });
});

describe('score filters as the appliance applies them', () => {
  const win = { starttime: NOW - 24 * HOUR, endtime: NOW, creationtime: true };

  it('modelbreaches minscore (0-1) keeps exactly the breaches at or above it, the boundary included', async () => {
    const at = sim.addModelBreach({ creationTime: NOW - HOUR, score: 0.5 });
    const below = sim.addModelBreach({ creationTime: NOW - HOUR, score: 0.499 });
    const all = (await ourGet(sim, '/modelbreaches', win)).body as Array<{ pbid: number; score: number }>;
    const filtered = (await ourGet(sim, '/modelbreaches', { ...win, minscore: 0.5 })).body as Array<{ pbid: number; score: number }>;
    expect(all.length).toBeGreaterThan(100);
    expect(filtered.length).toBeGreaterThan(10);
    expect(filtered.length).toBeLessThan(all.length);
    expect(pbids(filtered)).toEqual(pbids(all.filter((b) => b.score >= 0.5)));
    expect(pbids(filtered)).toContain(at['pbid']);
    expect(pbids(filtered)).not.toContain(below['pbid']);
    expect((await ourGet(sim, '/modelbreaches', { ...win, minscore: 1.5 })).body).toEqual({ modelbreaches: 'INPUT ERROR' });
  });

  it('AI Analyst minscore (aiaScore) and mingroupscore (groupScore), 0-100, pinned events included', async () => {
    const q = { starttime: NOW - 24 * HOUR, endtime: NOW };
    const all = (await ourGet(sim, '/aianalyst/incidentevents', q)).body as Array<{ id: string; aiaScore: number; groupScore: number }>;
    const byEvent = (await ourGet(sim, '/aianalyst/incidentevents', { ...q, minscore: 60 })).body as typeof all;
    const byGroup = (await ourGet(sim, '/aianalyst/incidentevents', { ...q, mingroupscore: 40 })).body as typeof all;
    const both = (await ourGet(sim, '/aianalyst/incidentevents', { ...q, minscore: 60, mingroupscore: 40 })).body as typeof all;
    expect(all.length).toBeGreaterThan(50);
    expect(byEvent.length).toBeGreaterThan(5);
    expect(byEvent.length).toBeLessThan(all.length);
    expect(ids(byEvent)).toEqual(ids(all.filter((e) => e.aiaScore >= 60)));
    expect(byGroup.every((e) => e.groupScore >= 40)).toBe(true);
    expect(byGroup.length).toBeGreaterThan(5);
    expect(byGroup.length).toBeLessThan(all.length);
    expect(ids(both)).toEqual(ids(both.filter((e) => e.aiaScore >= 60 && e.groupScore >= 40)));
    expect(both.length).toBeLessThanOrEqual(Math.min(byEvent.length, byGroup.length));
    expect((await ourGet(sim, '/aianalyst/incidentevents', { ...q, mingroupscore: 101 })).body).toEqual({ aianalyst: 'INPUT ERROR' });
  });
});
