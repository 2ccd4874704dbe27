import { createHmac } from 'node:crypto';
import { SetupError, PullError } from '@devo-collector/common';
import { formatDtapiDate, signRequest } from '@devo-collector/darktrace';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../src/index.js';
import { clientFor, NOW, PRIV, PUB, rejection, startSim } from './helpers.js';

let sim: Simulator;
beforeAll(async () => {
  sim = await startSim({ permissions: { '/antigena': false } });
});
afterAll(() => sim.close());

async function raw(pathAndQuery: string, headers: Record<string, string>): Promise<{ status: number; body: string; type: string | null; location: string | null }> {
  const res = await fetch(`${sim.url}${pathAndQuery}`, { headers, redirect: 'manual' });
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type'), location: res.headers.get('location') };
}

function signed(pq: string, date: string, priv = PRIV): Record<string, string> {
  return { 'DTAPI-Token': PUB, 'DTAPI-Date': date, 'DTAPI-Signature': signRequest(pq, PUB, priv, date) };
}

describe('simulator authentication over HTTP', () => {
  it('accepts a signed request and answers JSON', async () => {
    const r = await raw('/status', signed('/status', formatDtapiDate(new Date(NOW))));
    expect(r.status).toBe(200);
    expect(r.type).toBe('application/json; charset=utf-8');
    expect(JSON.parse(r.body)).toMatchObject({ type: 'master' });
  });

  it.each(['20240301T000000', '2024-03-01 00:00:00', '2024-03-01T00:00:00', '2024-02-29T23:45:00.123456+00:00'])('accepts DTAPI-Date %s', async (date) => {
    expect((await raw('/status', signed('/status', date))).status).toBe(200);
  });

  it('answers the documented bodies on errors', async () => {
    const bad = await raw('/status', signed('/status', '20240301T000000', 'wrong-private'));
    expect(bad).toMatchObject({ status: 400, body: '{"response":"API SIGNATURE ERROR"}' });
    expect((await raw('/status', {})).status).toBe(400);
    const skew = await raw('/status', signed('/status', '20240301T003100'));
    expect(skew).toMatchObject({ status: 400, body: '{"response":"API DATE ERROR"}' });
    const unknown = await raw('/nope', signed('/nope', '20240301T000000'));
    expect(unknown).toMatchObject({ status: 302, body: 'Found. Redirecting to /login', location: '/login' });
    const denied = await raw('/antigena', signed('/antigena', '20240301T000000'));
    expect(denied).toMatchObject({ status: 302, location: '/403' });
  });

  it('verifies the signature over the bytes received, and over the decoded query (the SDK signs raw values, sends them encoded)', async () => {
    const sent = '/modelbreaches?starttime=1709247600000&from=2024-03-01%2000%3A00%3A00';
    expect((await raw(sent, signed(sent, '20240301T000000'))).status).toBe(200);
    const rawForm = '/modelbreaches?starttime=1709247600000&from=2024-03-01 00:00:00';
    const sig = createHmac('sha1', PRIV).update(`${rawForm}\n${PUB}\n20240301T000000`).digest('hex');
    expect((await raw(sent, { 'DTAPI-Token': PUB, 'DTAPI-Date': '20240301T000000', 'DTAPI-Signature': sig })).status).toBe(200);
    // Neither form of another query matches.
    const other = createHmac('sha1', PRIV).update(`/modelbreaches?starttime=1709247600001&from=2024-03-01 00:00:00\n${PUB}\n20240301T000000`).digest('hex');
    const r = await raw(sent, { 'DTAPI-Token': PUB, 'DTAPI-Date': '20240301T000000', 'DTAPI-Signature': other });
    expect(r.status).toBe(400);
  });
});

describe('client checkCredentials against the simulator', () => {
  it('passes with the right tokens', async () => {
    const c = clientFor(sim);
    await expect(c.checkCredentials('/status')).resolves.toBeUndefined();
    await expect(c.checkCredentials('/modelbreaches', { starttime: NOW - 60_000, endtime: NOW })).resolves.toBeUndefined();
    await c.close();
  });

  it('wrong private token -> SetupError(101)', async () => {
    const c = clientFor(sim, { privateToken: 'another-private-token-xyz' });
    const e = await rejection(c.checkCredentials('/status'), [PUB, PRIV, 'another-private-token-xyz']);
    expect(e).toBeInstanceOf(SetupError);
    expect(e.code).toBe(101);
    expect(e.message).toMatch(/^The tokens provided are incorrect\. Please specify the correct credentials\. Error message /);
    await c.close();
  });

  it('unknown public token -> SetupError(101)', async () => {
    const c = clientFor(sim, { publicToken: 'unknown-public-token-abc' });
    expect((await rejection(c.checkCredentials('/status'), [PRIV, 'unknown-public-token-abc'])).code).toBe(101);
    await c.close();
  });

  it('clock 31 min ahead -> SetupError(101) saying the clock is off', async () => {
    const c = clientFor(sim, { now: () => new Date(NOW + 31 * 60_000) });
    const e = await rejection(c.checkCredentials('/status'));
    expect(e.code).toBe(101);
    expect(e.message).toMatch(/clock of this machine .* off by more than 30 minutes/);
    await c.close();
  });

  it('clock 29 min behind is still accepted', async () => {
    const c = clientFor(sim, { now: () => new Date(NOW - 29 * 60_000) });
    await expect(c.checkCredentials('/status')).resolves.toBeUndefined();
    await c.close();
  });

  it('302 to /403 -> SetupError(102); unknown endpoint (302 /login) -> 102', async () => {
    const c = clientFor(sim);
    const e = await rejection(c.checkCredentials('/antigena', { starttime: NOW - 1000, endtime: NOW }));
    expect(e.code).toBe(102);
    expect(e.message).toMatch(/^The provided tokens are valid but they do not have the permission to get data: Error message .*\/403/);
    expect((await rejection(c.checkCredentials('/nope'))).code).toBe(102);
    await c.close();
  });

  it('nothing listening -> SetupError(100)', async () => {
    const c = clientFor(sim, { baseUrl: 'http://127.0.0.1:1' });
    const e = await rejection(c.checkCredentials('/status'));
    expect(e.code).toBe(100);
    expect(e.message).toMatch(/^Error occurred while requesting from the Darktrace server\. Error message: /);
    await c.close();
  });

  it('400 INPUT ERROR -> SetupError(103)', async () => {
    const c = clientFor(sim);
    const e = await rejection(c.checkCredentials('/summarystatistics', { hours: 1 }));
    expect(e.code).toBe(103);
    expect(e.message).toMatch(/^Unexpected HTTP error occurred at the Darktrace server\. status code, 400 error: /);
    await c.close();
  });

  it('auth failures during a pull are PullError(300) and not retried', async () => {
    const c = clientFor(sim, { privateToken: 'another-private-token-xyz' });
    const before = sim.requestLog().length;
    const e = await rejection(c.get('/status'), [PUB, PRIV, 'another-private-token-xyz']);
    expect(e).toBeInstanceOf(PullError);
    expect(e.code).toBe(300);
    expect(sim.requestLog().length - before).toBe(1);
    const c2 = clientFor(sim);
    expect((await rejection(c2.get('/antigena'))).code).toBe(300);
    await Promise.all([c.close(), c2.close()]);
  });
});
