/**
 * /status and /summarystatistics: snapshot objects shaped as the API guide's response schemas
 * (reference §3.3, §8: `time` to the minute, `uptime`/`systemuptime` as H:MM:SS strings, licence
 * expiries as date strings, `probes` keyed by probe id, one of them unreachable, `instances` on a
 * Unified View master; summary statistics with every documented device type). No public sample
 * body exists, so values are invented; they move slowly with the clock so successive polls differ.
 */
import type { Json } from './fixtures.js';
import { DAY_MS, HOUR_MS } from './hourly-store.js';


/** `YYYY-MM-DD HH:MM`, the probe `time` of the guide. */
function ymdhm(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

/** `YYYY-MM-DD HH:MM:SS`. */
function ymdhms(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** `H:MM:SS` with unbounded hours, as `systemuptime: "1894:29:43"`. */
function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** `MM/DD/YY`, the guide's `installed` form ("10/22/18"). */
function mdy(ms: number): string {
  const d = new Date(ms);
  return `${String(d.getUTCMonth() + 1).padStart(2, '0')}/${String(d.getUTCDate()).padStart(2, '0')}/${String(d.getUTCFullYear() % 100).padStart(2, '0')}`;
}

function mbps(bits: number): string {
  return bits >= 1e9 ? `${(bits / 1e9).toFixed(2)} Gbps` : `${(bits / 1e6).toFixed(2)} Mbps`;
}

/** A reboot every 80 days from the epoch (system), the model engine restarted every 9 days. */
const SYSTEM_REBOOT_MS = 80 * DAY_MS;
const ENGINE_RESTART_MS = 9 * DAY_MS + 5 * HOUR_MS;

function probe(id: number, nowMs: number, wave: (n: number) => number): Json {
  const bw = wave(12_000_000 + id * 1_000_000);
  return {
    id,
    uuid: `6b3ed6f4-1823-4028-b9a5-${String(id).padStart(12, '0')}`,
    version: '6.1.23 (f35936c6)',
    bundleVersion: '6.1.7',
    configuredServer: `vsensor-${id}.corp.example`,
    ipAddress: `10.0.1.${id}`,
    label: `vSensor ${id}`,
    hostname: `vsensor-${id}`,
    time: ymdhm(nowMs),
    metadata: null,
    type: 'vSensor',
    load: wave(14),
    cpu: wave(9),
    memoryUsed: 44,
    osSensors: [],
    bandwidthCurrent: bw,
    bandwidthCurrentString: mbps(bw),
    bandwidthAverage: 11_000_000,
    bandwidthAverageString: mbps(11_000_000),
    processedBandwidthCurrent: bw,
    processedBandwidthCurrentString: mbps(bw),
    connectionsPerMinuteCurrent: wave(2_100),
    connectionsPerMinuteAverage: 2_000,
  };
}

export function statusSnapshot(nowMs: number, seed: number, opts: { includeChildren: boolean; unifiedView: boolean }): Json {
  const minute = Math.floor(nowMs / 60_000);
  const wave = (n: number) => Math.round(n * (1 + 0.2 * Math.sin(minute / 7)));
  const bw = wave(95_000_000);
  const uuid = `5e6f7a8b-0000-4000-8000-${String(seed).padStart(12, '0').slice(-12)}`;
  const body: Json = {
    excessTraffic: false,
    // The guide: "The current server time in UTC", to the minute ('2023-12-31 14:41:00').
    time: `${ymdhm(nowMs)}:00`,
    installed: mdy(nowMs - 400 * DAY_MS),
    mobileAppConfigured: false,
    version: '6.1.23 (f35936c6)',
    ipAddress: '10.0.0.5',
    label: 'Simulated master',
    modelsUpdated: ymdhms(Math.floor((nowMs - 3 * HOUR_MS) / 60_000) * 60_000),
    modelPackageVersion: '4.0-8515~20230322143408~g300d5d',
    bundleVersion: '61016',
    bundleVariant: 'stable',
    hostname: 'dt-master-sim',
    uuid,
    license: '2027-01-01 00:00:00',
    antigenaNetworkEnabled: true,
    antigenaNetworkRunning: true,
    antigenaNetworkLicense: '2027-01-01 00:00:00',
    syslogTLSSHA1Fingerprint: '2D:4A:1F:7B:93:0C:5E:21:A6:D9:0E:3F:4C:8A:50:6B:96:9F:7C:D1',
    logIngestionReplicated: 0,
    logIngestionProcessed: 400_000 + minute % 100_000,
    logIngestionTCP: 2,
    logIngestionUDP: 329_000_000 + minute % 1_000_000,
    logIngestionMatches: { exampletemplate: 214_509 },
    logIngestionTypes: { exampletemplate: 213_587 },
    licenseCounts: { saas: { total: 12 }, licenseIPCount: 2500, licenseCloudIPCount: 12 },
    type: 'master',
    diskUtilization: 1,
    load: wave(23),
    cpu: wave(18),
    memoryUsed: 61,
    dataQueue: 0,
    darkflowQueue: 0,
    networkInterfacesState_eth0: 'up',
    networkInterfacesAddress_eth0: '10.0.0.5',
    networkInterfacesState_eth1: 'up',
    bandwidthCurrent: bw,
    bandwidthCurrentString: mbps(bw),
    bandwidthAverage: 88_000_000,
    bandwidthAverageString: mbps(88_000_000),
    connectionsPerMinuteCurrent: wave(14_000),
    connectionsPerMinuteAverage: 13_500,
    newDevices4Weeks: 57,
    newDevices7Days: 12,
    newDevices24Hours: 2,
    newDevicesHour: 0,
    activeDevices4Weeks: 2450,
    activeDevices7Days: 2101,
    activeDevices24Hours: 1804,
    activeDevicesHour: wave(950),
    models: 1021,
    modelsBreached: 140_000 + Math.floor(minute / 30),
    modelsSuppressed: 3,
    devicesModeled: 2450,
    mostRecentDNSTraffic: `${ymdhm(nowMs - 60_000)}:00`,
    mostRecentHTTPSTraffic: `${ymdhm(nowMs)}:00`,
    subnets: 4,
    subnetData: [1, 2, 3, 4].map((sid) => ({
      sid,
      network: `10.${sid}.0.0/16`,
      devices: 400 + sid * 10,
      clientDevices: 380 + sid * 10,
      mostRecentTraffic: `${ymdhm(Math.floor(nowMs / HOUR_MS) * HOUR_MS)}:00`,
      mostRecentDHCP: 'Never',
      dhcpQuality: 50,
      kerberosQuality: 100,
    })),
    uptime: duration(nowMs % ENGINE_RESTART_MS),
    systemuptime: duration(nowMs % SYSTEM_REBOOT_MS),
  };
  if (opts.includeChildren) {
    // One working vSensor and one the master cannot reach (the guide's second probe example).
    body['probes'] = {
      '2': probe(2, nowMs, wave),
      '3': {
        configuredServer: '10.15.3.39',
        ipAddress: '10.15.3.39',
        label: 'vSensor 3 (branch office)',
        error: true,
        lastContact: `${ymdhm(nowMs - 2 * DAY_MS)}:00`,
      },
    };
  }
  if (opts.unifiedView) {
    // On a Unified View master, the subordinate masters (shape inferred: the master's own
    // identity fields per instance, keyed by instance id; reference §8 names only the object).
    body['instances'] = {
      '1': { id: 1, uuid: `${uuid.slice(0, -2)}01`, label: 'EU master', hostname: 'dt-eu-01', ipAddress: '10.10.0.5', version: '6.1.23 (f35936c6)', time: `${ymdhm(nowMs)}:00`, type: 'master' },
      '2': { id: 2, uuid: `${uuid.slice(0, -2)}02`, label: 'US master', hostname: 'dt-us-01', ipAddress: '10.20.0.5', version: '6.1.21 (b6a4c1)', time: `${ymdhm(nowMs)}:00`, type: 'master' },
    };
  }
  return body;
}

export function summaryStatisticsSnapshot(nowMs: number, opts: { mitreTactics: boolean }): Json {
  const lastDay = Math.floor(nowMs / DAY_MS) * DAY_MS;
  // Default: 28 days in 24 h intervals (reference §2).
  const bandwidth = Array.from({ length: 28 }, (_, i) => {
    const timems = lastDay - (27 - i) * DAY_MS;
    return { timems, time: ymdhms(timems), kb: 40_000_000 + ((timems / DAY_MS) % 7) * 1_500_000 };
  });
  const body: Json = {
    usercredentialcount: 312,
    subnets: 4,
    patterns: 1_540_000 + (Math.floor(nowMs / 60_000) % 1000),
    bandwidth,
    antigenaDevices: 17,
    antigenaActions: 43,
  };
  // mitreTactics=true: no device counts (reference §3.3).
  if (!opts.mitreTactics) {
    const types = { unknown: 310, laptop: 820, mobile: 140, tablet: 12, desktop: 640, server: 210, router: 4, keyasset: 9, dnsserver: 6, proxyserver: 2, logserver: 3, tv: 5, camera: 31, fileserver: 8, ipphone: 44, iot: 61 };
    const totalClient = types.laptop + types.mobile + types.tablet + types.desktop;
    const totalServer = types.server + types.dnsserver + types.proxyserver + types.logserver + types.fileserver;
    const total = Object.values(types).reduce((a, b) => a + b, 0);
    body['devicecount'] = {
      ...types,
      saas: { Office365: 9, Okta: 3, total: 12 },
      licenseIPCount: 2500,
      licenseCloudIPCount: 12,
      totalClient,
      totalServer,
      totalOther: total - totalClient - totalServer,
      total,
    };
  }
  return body;
}

/** `eventtype=...`: 1 h intervals up to `endMs` (default the last 24), `{events, data[{timems,time,events}]}`. */
export function eventTypeSnapshot(endMs: number, eventType: string, seed: number): Json {
  const lastHour = Math.floor(endMs / HOUR_MS) * HOUR_MS;
  const base = 1000 + (eventType.length * 97 + seed) % 500;
  const data = Array.from({ length: 24 }, (_, i) => {
    const timems = lastHour - (23 - i) * HOUR_MS;
    return { timems, time: ymdhms(timems), events: base + ((timems / HOUR_MS) % 24) * 40 };
  });
  return { events: data.reduce((a, d) => a + d.events, 0), data };
}
