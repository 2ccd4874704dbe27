/**
 * /status, /summarystatistics and /devices answer in the shapes of the API guide's response
 * schemas (reference §3.3, §8), and the device inventory changes over time deterministically.
 */
import { buildPathAndQuery, formatDtapiDate, signRequest } from '@devo-collector/darktrace';
import { afterEach, describe, expect, it } from 'vitest';
import type { Simulator, SimulatorOptions } from '../src/index.js';
import { HOUR, NOW, PRIV, PUB, startSim } from './helpers.js';

const DAY = 24 * HOUR;
const sims: Simulator[] = [];
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

async function sim(extra: Partial<SimulatorOptions> = {}): Promise<Simulator> {
  const s = await startSim(extra);
  sims.push(s);
  return s;
}

async function get(s: Simulator, path: string, query?: Record<string, string | number | boolean>, at = NOW): Promise<{ status: number; body: any }> {
  s.setNow(at);
  const pq = buildPathAndQuery(path, query);
  const date = formatDtapiDate(new Date(at));
  const res = await fetch(`${s.url}${pq}`, { headers: { 'DTAPI-Token': PUB, 'DTAPI-Date': date, 'DTAPI-Signature': signRequest(pq, PUB, PRIV, date) } });
  return { status: res.status, body: await res.json() };
}

describe('/status', () => {
  it('has the guide fields: time to the minute, uptime and systemuptime as H:MM:SS, date-string licences, probes keyed by id', async () => {
    const s = await sim();
    const { status, body } = await get(s, '/status', {}, NOW + 17_345);
    expect(status).toBe(200);
    expect(body.time).toBe('2024-03-01 00:00:00');
    expect(body.systemuptime).toMatch(/^\d+:[0-5]\d:[0-5]\d$/);
    expect(body.uptime).toMatch(/^\d+:[0-5]\d:[0-5]\d$/);
    expect(body).not.toHaveProperty('systemUptime');
    expect(body.installed).toMatch(/^\d{2}\/\d{2}\/\d{2}$/);
    expect(body.antigenaNetworkLicense).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    expect(body).toMatchObject({ type: 'master', version: expect.any(String), bundleVersion: expect.any(String), syslogTLSSHA1Fingerprint: expect.any(String) });
    expect(body.subnetData[0]).toMatchObject({ sid: 1, network: '10.1.0.0/16', devices: expect.any(Number) });
    expect(Object.keys(body.probes)).toEqual(['2', '3']);
    expect(body.probes['2']).toMatchObject({ id: 2, configuredServer: expect.any(String), ipAddress: expect.any(String), label: expect.any(String), hostname: expect.any(String), time: '2024-03-01 00:00', type: 'vSensor', load: expect.any(Number), cpu: expect.any(Number), memoryUsed: expect.any(Number), bandwidthCurrent: expect.any(Number) });
    expect(body.probes['3']).toEqual({ configuredServer: '10.15.3.39', ipAddress: '10.15.3.39', label: expect.any(String), error: true, lastContact: '2024-02-28 00:00:00' });
    expect(body).not.toHaveProperty('instances');
  });

  it('includechildren=false (or False) drops the probes; a Unified View master adds instances', async () => {
    const s = await sim({ unifiedView: true });
    expect((await get(s, '/status', { includechildren: false })).body).not.toHaveProperty('probes');
    expect((await get(s, '/status', { includechildren: 'False' })).body).not.toHaveProperty('probes');
    const uv = (await get(s, '/status')).body;
    expect(uv.probes).toBeDefined();
    expect(Object.values(uv.instances)).toEqual([
      expect.objectContaining({ type: 'master', hostname: expect.any(String), version: expect.any(String) }),
      expect.objectContaining({ type: 'master' }),
    ]);
  });

  it('systemuptime grows with the clock until the next reboot', async () => {
    const s = await sim();
    const secs = (t: string) => t.split(':').reduce((a, p) => a * 60 + Number(p), 0);
    const a = secs((await get(s, '/status', {}, NOW)).body.systemuptime);
    const b = secs((await get(s, '/status', {}, NOW + HOUR)).body.systemuptime);
    expect(b - a).toBe(3600);
  });
});

describe('/summarystatistics', () => {
  it('default: 28 daily bandwidth points and every documented devicecount type', async () => {
    const s = await sim();
    const { body } = await get(s, '/summarystatistics');
    expect(Object.keys(body)).toEqual(['usercredentialcount', 'subnets', 'patterns', 'bandwidth', 'antigenaDevices', 'antigenaActions', 'devicecount']);
    expect(body.bandwidth).toHaveLength(28);
    expect(body.bandwidth[27]).toEqual({ timems: NOW, time: '2024-03-01 00:00:00', kb: expect.any(Number) });
    expect(body.bandwidth[1].timems - body.bandwidth[0].timems).toBe(DAY);
    const types = ['unknown', 'laptop', 'mobile', 'tablet', 'desktop', 'server', 'router', 'keyasset', 'dnsserver', 'proxyserver', 'logserver', 'tv', 'camera', 'fileserver', 'ipphone', 'iot'];
    for (const t of types) expect(body.devicecount[t], t).toEqual(expect.any(Number));
    const dc = body.devicecount;
    expect(dc.saas.total).toEqual(expect.any(Number));
    expect(dc.totalClient + dc.totalServer + dc.totalOther).toBe(dc.total);
    expect(types.reduce((a, t) => a + dc[t], 0)).toBe(dc.total);
    expect(dc).toMatchObject({ licenseIPCount: expect.any(Number), licenseCloudIPCount: expect.any(Number) });
  });

  it('eventtype: hourly {events, data}; the documented INPUT ERRORs; mitreTactics drops device counts', async () => {
    const s = await sim();
    const ev = (await get(s, '/summarystatistics', { eventtype: 'networkmodelevents', endtime: NOW - 2 * HOUR })).body;
    expect(ev.data).toHaveLength(24);
    expect(ev.data[23]).toMatchObject({ timems: NOW - 2 * HOUR, time: '2024-02-29 22:00:00', events: expect.any(Number) });
    expect(ev.data[1].timems - ev.data[0].timems).toBe(HOUR);
    expect(ev.events).toBe(ev.data.reduce((a: number, d: { events: number }) => a + d.events, 0));
    const bad: Array<Record<string, string | number | boolean>> = [{ hours: 2, eventtype: 'network' }, { endtime: NOW }, { eventtype: 'network', csensor: true }, { eventtype: 'bogus' }];
    for (const q of bad) {
      expect(await get(s, '/summarystatistics', q), JSON.stringify(q)).toEqual({ status: 400, body: { summarystatistics: 'INPUT ERROR' } });
    }
    expect((await get(s, '/summarystatistics', { mitreTactics: true })).body).not.toHaveProperty('devicecount');
  });
});

describe('/devices', () => {
  it('serves the documented device objects, seen in the last 7 days by default', async () => {
    const s = await sim({ devices: 40 });
    const { status, body } = await get(s, '/devices');
    expect(status).toBe(200);
    expect(body.length).toBeGreaterThan(20);
    for (const d of body) {
      expect(Object.keys(d)).toEqual(['did', 'macaddress', 'vendor', 'ip', 'ips', 'sid', 'hostname', 'firstSeen', 'lastSeen', 'os', 'typename', 'typelabel']);
      expect(d.lastSeen).toBeGreaterThanOrEqual(NOW - 7 * DAY);
      expect(d.lastSeen).toBeLessThanOrEqual(NOW);
      expect(d.firstSeen).toBeLessThanOrEqual(d.lastSeen);
      expect(d.macaddress).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
      expect(d.ips[0]).toEqual({ ip: d.ip, timems: d.lastSeen, time: new Date(d.lastSeen).toISOString().slice(0, 19).replace('T', ' '), sid: d.sid });
    }
    expect(new Set(body.map((d: { did: number }) => d.did)).size).toBe(body.length);
  });

  it('narrows by did (one object), ip, sid, seensince, count, responsedata; tags on includetags', async () => {
    const s = await sim({ devices: 40 });
    const all = (await get(s, '/devices', { includetags: true })).body;
    const one = all.find((d: any) => d.tags.length > 0);
    expect(one).toBeDefined();
    expect((await get(s, '/devices', { did: one.did, includetags: true })).body).toEqual(one);
    expect((await get(s, '/devices', { did: 99_999 })).status).toBe(404);
    expect((await get(s, '/devices', { ip: one.ip })).body.map((d: any) => d.did)).toContain(one.did);
    expect((await get(s, '/devices', { sid: 2 })).body.every((d: any) => d.sid === 2)).toBe(true);
    expect((await get(s, '/devices', { count: 3 })).body).toHaveLength(3);
    expect((await get(s, '/devices', { responsedata: 'hostname' })).body[0]).toEqual({ hostname: expect.any(String) });
    const lastHour = (await get(s, '/devices', { seensince: '1hour' })).body;
    expect(lastHour.length).toBeLessThan(all.length);
    expect(lastHour.every((d: any) => d.lastSeen >= NOW - HOUR)).toBe(true);
    expect((await get(s, '/devices', { seensince: '3600' })).body).toEqual(lastHour);
    expect(await get(s, '/devices', { seensince: 'soon' })).toEqual({ status: 400, body: { devices: 'INPUT ERROR' } });
    expect(one.tags[0]).toMatchObject({ tid: expect.any(Number), name: expect.any(String), restricted: false, data: expect.any(Object) });
  });

  it('changes over time, the same way for the same seed: devices appear, change IP and hostname, leave', async () => {
    const s = await sim({ devices: 40, seed: 7 });
    const twin = await sim({ devices: 40, seed: 7 });
    const at = (t: number) => new Map((s.deviceInventory(t) as any[]).map((d) => [d.did, d]));
    const start = at(NOW - 3 * DAY);
    const later = at(NOW + 10 * DAY);
    const appeared = [...later.keys()].filter((did) => !start.has(did));
    expect(appeared.length).toBeGreaterThan(0);
    const ipChanged = [...start.keys()].filter((did) => later.has(did) && later.get(did).ip !== start.get(did).ip);
    expect(ipChanged.length).toBeGreaterThan(0);
    const renamed = [...start.keys()].filter((did) => later.has(did) && later.get(did).hostname !== start.get(did).hostname);
    expect(renamed.length).toBeGreaterThan(0);
    // A device that left: its lastSeen stopped, so it drops out of the default 7-day answer.
    const left = [...later.values()].filter((d) => d.lastSeen < NOW + 3 * DAY);
    expect(left.length).toBeGreaterThan(0);
    const served = (await get(s, '/devices', {}, NOW + 10 * DAY)).body.map((d: any) => d.did);
    for (const d of left) expect(served).not.toContain(d.did);
    // The IP history keeps previous addresses: distinct, newest first.
    const histories = [...later.values()].map((d) => d.ips as Array<{ ip: string; timems: number }>);
    expect(histories.some((h) => h.length > 1)).toBe(true);
    for (const h of histories) {
      expect(new Set(h.map((x) => x.ip)).size).toBe(h.length);
      expect(h.map((x) => x.timems)).toEqual([...h.map((x) => x.timems)].sort((a, b) => b - a));
    }
    // Deterministic from the seed, and what the inventory says is what /devices serves.
    expect(twin.deviceInventory(NOW + 10 * DAY)).toEqual(s.deviceInventory(NOW + 10 * DAY));
    expect((await get(s, '/devices', { includetags: true, seensince: '6month' }, NOW)).body).toEqual(s.deviceInventory(NOW));
  });
});
