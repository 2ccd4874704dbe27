/**
 * /status and /summarystatistics: snapshot objects with the field lists of reference §3.3 (no
 * public sample file exists). Values move slowly with the clock so successive polls differ.
 */
import type { Json } from './fixtures.js';
import { HOUR_MS } from './hourly-store.js';

function ymdhm(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
}

export function statusSnapshot(nowMs: number, seed: number): Json {
  const minute = Math.floor(nowMs / 60_000);
  const wave = (n: number) => Math.round(n * (1 + 0.2 * Math.sin(minute / 7)));
  return {
    excessTraffic: false,
    time: ymdhm(nowMs),
    installed: '2022-03-01',
    version: '6.1.21 (b6a4c1)',
    ipAddress: '10.0.0.5',
    hostname: 'dt-master-sim',
    label: 'Simulated master',
    uuid: `5e6f7a8b-0000-4000-8000-${String(seed).padStart(12, '0').slice(-12)}`,
    type: 'master',
    modelsUpdated: ymdhm(nowMs - 3 * HOUR_MS),
    modelPackageVersion: '6.1-3021~20240101120000~g1a2b3c',
    models: 1021,
    modelsBreached: wave(140),
    modelsSuppressed: 3,
    devicesModeled: 2450,
    license: '2027-01-01 00:00:00',
    antigenaNetworkEnabled: true,
    antigenaNetworkLicense: true,
    antigenaNetworkRunning: true,
    licenseCounts: { saas: { total: 12 }, licenseIPCount: 2500 },
    logIngestionProcessed: wave(1200),
    logIngestionTCP: 0,
    logIngestionUDP: wave(1200),
    logIngestionReplicated: 0,
    diskUtilization: 41,
    uptime: `${Math.floor((nowMs / 1000) % 8_640_000)}`,
    systemUptime: `${Math.floor((nowMs / 1000) % 8_640_000)}`,
    load: wave(23),
    cpu: wave(18),
    memoryUsed: 61,
    dataQueue: 0,
    darkflowQueue: 0,
    bandwidthCurrent: wave(95_000_000),
    bandwidthCurrentString: '95.00 Mbps',
    bandwidthAverage: 88_000_000,
    bandwidthAverageString: '88.00 Mbps',
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
    networkInterfacesState_eth0: 'up',
    networkInterfacesState_eth1: 'up',
    probes: {
      '2': { id: 2, version: '6.1.21', ipAddress: '10.0.1.5', load: wave(12), cpu: wave(9), memoryUsed: 44, bandwidthCurrent: wave(12_000_000), connectionsPerMinuteCurrent: wave(2_100), label: 'probe-1', error: false },
    },
  };
}

export function summaryStatisticsSnapshot(nowMs: number): Json {
  const day = 24 * HOUR_MS;
  const lastDay = Math.floor(nowMs / day) * day;
  // Default: 28 days in 24 h intervals (reference §2).
  const bandwidth = Array.from({ length: 28 }, (_, i) => {
    const timems = lastDay - (27 - i) * day;
    return { timems, time: new Date(timems).toISOString().slice(0, 19).replace('T', ' '), kb: 40_000_000 + ((timems / day) % 7) * 1_500_000 };
  });
  return {
    usercredentialcount: 312,
    subnets: 48,
    patterns: 1_540_000 + Math.floor(nowMs / 60_000) % 1000,
    bandwidth,
    antigenaDevices: 17,
    antigenaActions: 43,
    devicecount: {
      unknown: 310,
      laptop: 820,
      desktop: 640,
      server: 210,
      mobile: 140,
      saas: { office365: 9, okta: 3, total: 12 },
      licenseIPCount: 2500,
      totalClient: 1600,
      totalServer: 210,
      totalOther: 640,
      total: 2450,
    },
  };
}
