/**
 * `getRecords`: the records of an array answer as the appliance's own bytes, and exactly the
 * errors of `get` for anything that is not a valid array.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawRecord } from '@devo-collector/darktrace';
import type { FaultKind, Simulator } from '../src/index.js';
import { clientFor, NOW, rejection, startSim } from './helpers.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSim({ modelBreachesPerHour: 30, aiEventsPerHour: 3 });
});
afterAll(() => sim.close());

const window = { starttime: NOW - 3_600_000, endtime: NOW, creationtime: true };
const each = (value: unknown, raw: RawRecord) => ({ value, text: raw.text(), compact: raw.compact, size: raw.size });

describe('getRecords', () => {
  it('hands each element with its own compact text, equal to JSON.stringify of its value', async () => {
    const c = clientFor(sim);
    const parsed = (await c.get('/modelbreaches', window)) as unknown[];
    const got = await c.getRecords('/modelbreaches', window, { each });
    if (!('records' in got)) throw new Error('expected records');
    expect(got.records.length).toBeGreaterThan(10);
    expect(got.records.map((r) => r.value)).toEqual(parsed);
    for (const r of got.records) {
      expect(r.compact).toBe(true);
      expect(r.text).toBe(JSON.stringify(r.value));
      expect(r.size).toBe(Buffer.byteLength(r.text));
    }
    const ai = await c.getRecords('/aianalyst/incidentevents', { starttime: NOW - 3_600_000, endtime: NOW }, { each });
    expect('records' in ai && ai.records.length).toBeGreaterThan(0);
    await c.close();
  });

  it('with fields, parses only those top-level fields of each element', async () => {
    const c = clientFor(sim);
    const parsed = (await c.get('/modelbreaches', window)) as Array<Record<string, unknown>>;
    const got = await c.getRecords('/modelbreaches', window, {
      fields: ['pbid', 'creationTime', 'absent'],
      each: (value, raw, complete) => ({ value, text: raw.text(), compact: raw.compact, complete }),
    });
    if (!('records' in got)) throw new Error('expected records');
    expect(got.records.map((r) => r.value)).toEqual(parsed.map((p) => ({ pbid: p['pbid'], creationTime: p['creationTime'] })));
    expect(got.records.every((r) => !r.complete && r.compact)).toBe(true);
    expect(got.records.map((r) => JSON.parse(r.text) as unknown)).toEqual(parsed);
    await c.close();
  });

  it('answers the parsed body when it is not an array', async () => {
    const c = clientFor(sim);
    const got = await c.getRecords('/status', undefined, { each });
    expect('body' in got && (got.body as Record<string, unknown>)['hostname']).toBe('dt-master-sim');
    await c.close();
  });

  it.each<FaultKind>(['truncated-json', 'html-login-200'])('%s: the same PullError as get, after the same retries', async (kind) => {
    const c = clientFor(sim, { maxRetries: 1 });
    sim.injectFault({ kind, count: 2, endpoint: '/modelbreaches' });
    const viaGet = await rejection(c.get('/modelbreaches', window));
    sim.injectFault({ kind, count: 2, endpoint: '/modelbreaches' });
    const viaRecords = await rejection(c.getRecords('/modelbreaches', window, { each }));
    expect(viaRecords.code).toBe(301);
    expect(String(viaRecords)).toBe(String(viaGet));
    await c.close();
  });
});
