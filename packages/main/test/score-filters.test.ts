/**
 * Score filters end to end: the real collector (dist/main.js) pulls a real simulator with
 * `modelbreaches.minscore` set and sends to a real mutual-TLS receiver. Exactly the breaches at or
 * above the score arrive (compared with the simulator's own unfiltered answer). Then the filter is
 * lowered across a restart: the cursor and the delivered ids are kept (nothing arrives twice, the
 * start_time reset does not happen), the new filter applies from the cursor on (new breaches
 * between the two scores arrive), and breaches of already collected windows that the old filter
 * excluded are not fetched (only the overlap re-read before the cursor can bring them): the
 * documented behaviour (docs/configuration.md, Score filters). AI Analyst events with minscore and
 * mingroupscore: every event at or above both arrives, none below.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDarktraceClient } from '@devo-collector/darktrace';
import { startSimulator, type Simulator } from '@devo-collector/darktrace-sim';
import { generateTestCerts, type TestCerts, startTlsReceiver, type TlsReceiver } from '@devo-collector/testkit';
import { PRIV, PUB, baseConfig, makeWorkspace, runCollector, until, writeConfig } from './helpers/collector.js';

const HOUR = 3_600_000;
const OVERLAP_MS = 15 * 60_000; // module_globals.overlap_in_minutes of the bundled definitions
const TAG = ' edr.darktrace.respond.model_breach: ';

let sim: Simulator;
let certs: TestCerts;
let receiver: TlsReceiver;
beforeAll(async () => {
  sim = await startSimulator({ publicToken: PUB, privateToken: PRIV, seed: 14, modelBreachesPerHour: 30, aiEventsPerHour: 30 });
  certs = generateTestCerts();
  receiver = await startTlsReceiver(certs);
});
afterAll(async () => {
  await sim.close();
  await receiver.stop();
});

interface Breach {
  pbid: number;
  score: number;
  creationTime: number;
}

/** Every record of `tag` the receiver got, in arrival order (duplicates kept). */
function deliveredOf<T>(tag: string): T[] {
  return receiver
    .text()
    .split('\n')
    .filter((l) => l.includes(tag))
    .map((l) => JSON.parse(l.slice(l.indexOf(tag) + tag.length)) as T);
}
const delivered = (): Breach[] => deliveredOf<Breach>(TAG);

/** The simulator's own answer. */
async function simGet<T>(endpoint: string, query: Record<string, number | boolean>): Promise<T> {
  const client = createDarktraceClient({ baseUrl: sim.url, publicToken: PUB, privateToken: PRIV, requestsPerSecond: 0 });
  try {
    return (await client.get(endpoint, query)) as T;
  } finally {
    await client.close();
  }
}

/** Unfiltered: breaches created in [fromMs, toMs]. */
const simBreaches = (fromMs: number, toMs: number): Promise<Breach[]> =>
  simGet<Breach[]>('/modelbreaches', { starttime: fromMs, endtime: toMs, creationtime: true });

const sorted = (ids: number[]) => [...ids].sort((a, b) => a - b);

describe('score filters end to end', () => {
  it('delivers exactly the breaches at or above minscore; a lowered filter keeps the cursor and sends nothing twice', async () => {
    const dir = makeWorkspace();
    const startMs = Math.floor((Date.now() - 3 * HOUR) / HOUR) * HOUR;
    const cfg = baseConfig(sim.url);
    cfg.outputs = {
      devo_1: { type: 'devo_platform', config: { address: '127.0.0.1', port: receiver.port, chain: certs.caPath, cert: certs.clientCertPath, key: certs.clientKeyPath } },
    };
    const service = (minscore: number) => ({
      start_time_in_utc_format: new Date(startMs).toISOString().slice(0, 19),
      request_period_in_seconds: 1,
      override_time_window_interval_in_minutes: 30,
      minscore,
    });
    cfg.inputs.darktrace.services = { modelbreaches: service(0.6) };
    writeConfig(dir, cfg);
    const stateFile = path.join(dir, 'state', 'darktrace;10001;modelbreaches.json');
    const readState = () => JSON.parse(readFileSync(stateFile, 'utf8')) as { cursor_ms: number; start_time: string; filters: string; seen: unknown[] };

    // Phase 1: minscore 0.6.
    const firstUpTo = Date.now();
    const past = await simBreaches(startMs, firstUpTo);
    const expected = past.filter((b) => b.score >= 0.6).map((b) => b.pbid);
    // The filter has something to do: both sides of it are populated.
    expect(expected.length).toBeGreaterThan(10);
    expect(past.length - expected.length).toBeGreaterThan(10);

    const a = runCollector(dir);
    try {
      await a.waitFor(/Score filters in force: minscore=0\.6 \(the appliance returns only records at or above them\)/);
      await until(() => {
        const got = new Set(delivered().map((b) => b.pbid));
        return expected.every((id) => got.has(id)) ? true : undefined;
      }, 90_000, 'all breaches >= 0.6 delivered', () => a.output().split('\n').slice(-30).join('\n'));
      const got = delivered();
      // Exactly those of the simulator at or above the score (for what existed before the start) ...
      expect(sorted(got.filter((b) => b.creationTime <= firstUpTo).map((b) => b.pbid))).toEqual(sorted(expected));
      // ... and nothing below it, later ones included.
      expect(got.filter((b) => b.score < 0.6)).toEqual([]);
      // Each window's request carried the filter as the API documents it (the collector's requests
      // are the ones with includeacknowledged; the setup check and simBreaches have none).
      const pulls = sim.requestLog().filter((r) => r.path === '/modelbreaches' && r.query['includeacknowledged'] === 'true');
      // (Windows grow over sparse history, so 3 h take a few requests: at least the first window
      // and one live poll.)
      expect(pulls.length).toBeGreaterThanOrEqual(2);
      expect(pulls.filter((r) => r.query['minscore'] !== '0.6')).toEqual([]);
      // A cursor that has passed the records (the state is written at most twice a second).
      await until(() => (readState().cursor_ms >= firstUpTo - 60_000 ? true : undefined), 30_000, 'cursor caught up');
    } finally {
      a.proc.kill('SIGTERM');
      expect((await a.exit).code).toBe(0);
    }
    const stateA = readState();
    const cursorBefore = stateA.cursor_ms;
    expect(stateA.filters).toBe('minscore=0.6');
    const countA = delivered().length;

    // Phase 2: the filter lowered to 0.3, new breaches on both sides of each score.
    const mid = sim.addModelBreach({ score: 0.45 });
    const high = sim.addModelBreach({ score: 0.8 });
    const low = sim.addModelBreach({ score: 0.2 });
    cfg.inputs.darktrace.services = { modelbreaches: service(0.3) };
    writeConfig(dir, cfg);
    const b = runCollector(dir);
    try {
      const warning = await b.waitFor(/The score filters changed from previous collector executions/);
      expect(warning).toContain('previous_value: "minscore=0.6", new_value: "minscore=0.3"');
      expect(warning).toMatch(/^\S+ WARNING InputProcess::CollectorDarktracePuller\(darktrace#10001,modelbreaches#predefined\) -> /);
      await until(() => {
        const got = new Set(delivered().map((x) => x.pbid));
        return got.has(Number(mid['pbid'])) && got.has(Number(high['pbid'])) ? true : undefined;
      }, 60_000, 'the new breaches delivered', () => b.output().split('\n').slice(-30).join('\n'));
      // Same window, same answer: the one below the new score is not there.
      expect(delivered().map((x) => x.pbid)).not.toContain(Number(low['pbid']));
      expect(b.output()).not.toMatch(/"start_time" is having a different value/);
    } finally {
      b.proc.kill('SIGTERM');
      expect((await b.exit).code).toBe(0);
    }
    const stateB = readState();
    expect(stateB.filters).toBe('minscore=0.3');
    expect(stateB.start_time).toBe(stateA.start_time);
    expect(stateB.cursor_ms).toBeGreaterThanOrEqual(cursorBefore);
    expect(stateB.seen.length).toBeGreaterThanOrEqual(stateA.seen.length);

    const all = delivered();
    expect(all.length).toBeGreaterThan(countA);
    // Nothing arrived twice across the change.
    const counts = new Map<number, number>();
    for (const x of all) counts.set(x.pbid, (counts.get(x.pbid) ?? 0) + 1);
    expect([...counts].filter(([, n]) => n > 1)).toEqual([]);
    expect(all.filter((x) => x.score < 0.3)).toEqual([]);
    // Breaches the old filter excluded come only from the overlap re-read before the old cursor
    // or after it; the already collected past is not fetched again.
    const admitted = all.filter((x) => x.score >= 0.3 && x.score < 0.6);
    expect(admitted.map((x) => x.pbid)).toContain(Number(mid['pbid']));
    expect(admitted.filter((x) => x.creationTime < cursorBefore - OVERLAP_MS)).toEqual([]);
    const missedPast = past.filter((x) => x.score >= 0.3 && x.score < 0.6 && x.creationTime < cursorBefore - OVERLAP_MS);
    expect(missedPast.length).toBeGreaterThan(5);
  }, 240_000);

  it('AI Analyst events: minscore (aiaScore) and mingroupscore (groupScore) both hold for every delivered event', async () => {
    const tag = ' edr.darktrace.respond.incident_event: ';
    const dir = makeWorkspace();
    const startMs = Math.floor((Date.now() - 3 * HOUR) / HOUR) * HOUR;
    const cfg = baseConfig(sim.url);
    cfg.outputs = {
      devo_1: { type: 'devo_platform', config: { address: '127.0.0.1', port: receiver.port, chain: certs.caPath, cert: certs.clientCertPath, key: certs.clientKeyPath } },
    };
    cfg.inputs.darktrace.services = {
      aianalyst_incidentevents: { start_time_in_utc_format: new Date(startMs).toISOString().slice(0, 19), request_period_in_seconds: 1, minscore: 60, mingroupscore: 30 },
    };
    writeConfig(dir, cfg);
    const upTo = Date.now();
    type Event = { id: string; aiaScore: number; groupScore: number; createdAt: number };
    const window = { starttime: startMs, endtime: upTo, includeallpinned: false };
    const unfiltered = await simGet<Event[]>('/aianalyst/incidentevents', window);
    const expected = (await simGet<Event[]>('/aianalyst/incidentevents', { ...window, minscore: 60, mingroupscore: 30 })).map((e) => e.id);
    expect(expected.length).toBeGreaterThan(5);
    expect(unfiltered.length - expected.length).toBeGreaterThan(5);
    const c = runCollector(dir);
    try {
      await c.waitFor(/Score filters in force: minscore=60, mingroupscore=30 /);
      await until(() => {
        const got = new Set(deliveredOf<Event>(tag).map((e) => e.id));
        return expected.every((id) => got.has(id)) ? true : undefined;
      }, 90_000, 'all AI events at or above both scores delivered', () => c.output().split('\n').slice(-30).join('\n'));
    } finally {
      c.proc.kill('SIGTERM');
      expect((await c.exit).code).toBe(0);
    }
    const got = deliveredOf<Event>(tag);
    // Scores only grow (the incident score may rise between polls), so what the collector saw at
    // or above both scores is at least the simulator's filtered answer, and nothing below arrived.
    expect(got.filter((e) => e.aiaScore < 60 || e.groupScore < 30)).toEqual([]);
    const below = unfiltered.filter((e) => e.aiaScore < 60).map((e) => e.id);
    expect(below.length).toBeGreaterThan(0);
    expect(got.map((e) => e.id).filter((id) => below.includes(id))).toEqual([]);
  }, 180_000);
});
