/**
 * The window queries with score filters: the parameters the API guide documents, lowercase
 * booleans, and only unreserved characters (so the signed and the sent strings are the same bytes
 * whichever form an appliance verifies, reference §1.1 and §8).
 */
import { buildPathAndQuery } from '@devo-collector/darktrace';
import { describe, expect, it } from 'vitest';
import { serviceProfile } from '../src/pullers/service-profile.js';
import { makeServiceConfig } from '@devo-collector/testkit';

const S = 1_700_000_000_000;
const E = S + 3_600_000;

describe('window queries with score filters', () => {
  it('modelbreaches sends minscore after the window parameters', () => {
    const svc = makeServiceConfig('modelbreaches', { startTimeMs: S, scoreFilters: { minscore: 0.35 } });
    expect(buildPathAndQuery(svc.endpoint, serviceProfile(svc).windowQuery(S, E))).toBe(
      `/modelbreaches?starttime=${S}&endtime=${E}&creationtime=true&includeacknowledged=true&expandenums=true&minscore=0.35`,
    );
  });

  it('AI Analyst events send minscore and mingroupscore', () => {
    const svc = makeServiceConfig('aianalyst_incidentevents', { startTimeMs: S, scoreFilters: { minscore: 40, mingroupscore: 62.5 } });
    expect(buildPathAndQuery(svc.endpoint, serviceProfile(svc).windowQuery(S, E))).toBe(
      `/aianalyst/incidentevents?starttime=${S}&endtime=${E}&includeacknowledged=true&includeallpinned=false&minscore=40&mingroupscore=62.5`,
    );
  });

  it('no filter, no parameter; every query stays within the unreserved characters, booleans lowercase', () => {
    for (const name of ['modelbreaches', 'aianalyst_incidentevents', 'antigena'] as const) {
      const plain = makeServiceConfig(name, { startTimeMs: S });
      const pq = buildPathAndQuery(plain.endpoint, serviceProfile(plain).windowQuery(S, E));
      expect(pq).not.toMatch(/score/);
      expect(pq.split('?')[1]).toMatch(/^([A-Za-z0-9._~-]+=[A-Za-z0-9._~-]+&?)+$/);
      expect(pq).not.toMatch(/True|False/);
    }
    // The smallest and the most precise values the config accepts (6 decimals, no exponent).
    const tiny = makeServiceConfig('modelbreaches', { startTimeMs: S, scoreFilters: { minscore: 0.000001 } });
    expect(buildPathAndQuery(tiny.endpoint, serviceProfile(tiny).windowQuery(S, E))).toMatch(/&minscore=0\.000001$/);
  });
});
