/**
 * /devices: a device inventory that changes with the clock, deterministically from the seed
 * (reference §2, §3.1 "device", §8 "/devices"). Each device has fixed traits and a schedule:
 * it appears at `firstSeen` (some before the data starts, some later), DHCP clients take a new
 * lease (and maybe a new IP) every few hours, a few are renamed at one instant, and a few leave
 * the network (their `lastSeen` stops; once older than the `seensince` window they drop out of
 * the answer). The same (seed, clock) always gives the same answer, so a test can compute what
 * a collector should have seen at any instant (Simulator.deviceInventory).
 */
import { DAY_MS, HOUR_MS } from './hourly-store.js';
import { pick, randInt, rngFor } from './prng.js';
import type { Json } from './fixtures.js';

const MINUTE_MS = 60_000;

interface DeviceType {
  typename: string;
  typelabel: string;
  prefix: string;
  os: readonly string[];
  vendors: readonly string[];
  /** Servers keep their address; clients lease one. */
  dhcp: boolean;
}

const TYPES: readonly DeviceType[] = [
  { typename: 'desktop', typelabel: 'Desktop', prefix: 'ws', os: ['Windows 10 or 11', 'Windows 7 or 8'], vendors: ['Dell Inc.', 'HP Inc.', 'Lenovo'], dhcp: true },
  { typename: 'laptop', typelabel: 'Laptop', prefix: 'lt', os: ['Windows 10 or 11', 'Mac OS X'], vendors: ['Apple, Inc.', 'Dell Inc.', 'Lenovo'], dhcp: true },
  { typename: 'mobile', typelabel: 'Mobile', prefix: 'phone', os: ['iOS', 'Android'], vendors: ['Apple, Inc.', 'Samsung Electronics Co.,Ltd'], dhcp: true },
  { typename: 'server', typelabel: 'Server', prefix: 'srv', os: ['Linux 3.11 and newer', 'Windows Server'], vendors: ['VMware, Inc.', 'Super Micro Computer, Inc.'], dhcp: false },
  { typename: 'dnsserver', typelabel: 'DNS Server', prefix: 'dns', os: ['Linux 3.11 and newer'], vendors: ['VMware, Inc.'], dhcp: false },
  { typename: 'iot', typelabel: 'IoT', prefix: 'cam', os: ['Linux 2.6.x'], vendors: ['Hangzhou Hikvision Digital Technology Co.,Ltd.', 'Axis Communications AB'], dhcp: true },
];
/** Subnet ids 1-4: 10.<sid>.0.0/16 (clients) and 10.<sid>.200.0/24 (servers). */
const SUBNETS = 4;
const TAGS: readonly Json[] = [
  { tid: 54, expiry: 0, thid: 54, name: 'Internet Facing System', restricted: false, data: { auto: false, color: 110, description: '', visibility: 'Public' }, isReferenced: true },
  { tid: 17, expiry: 0, thid: 19, name: 'Key Asset', restricted: false, data: { auto: false, color: 0, description: 'Business critical', visibility: 'Public' }, isReferenced: true },
  { tid: 73, expiry: 0, thid: 78, name: 'Multi-use', restricted: false, data: { auto: false, color: 134, description: 'Device is a pool device.', visibility: 'Public' }, isReferenced: false },
];

interface DevicePlan {
  did: number;
  type: DeviceType;
  sid: number;
  macaddress: string;
  vendor: string;
  os: string;
  hostname: string;
  /** Renamed at `renamedAt` to `renamedTo` (null: never). */
  renamedAt: number | null;
  renamedTo: string;
  firstSeen: number;
  /** Last activity before it left the network (null: still there). */
  goneAt: number | null;
  leaseMs: number;
  /** Seen at firstSeen + k * activityMs: servers every minute, clients every 10 min to 36 h. */
  activityMs: number;
  /** Static address (servers). */
  staticIp: string;
  tags: Json[];
}

interface DeviceConfig {
  seed: number;
  dataStartMs: number;
  count: number;
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}

function plan(cfg: DeviceConfig, i: number): DevicePlan {
  const rng = rngFor(cfg.seed, 'devices', i);
  const type = pick(rng, TYPES);
  const sid = randInt(rng, 1, SUBNETS);
  // A quarter appears after the data starts (new devices), the rest were there before.
  const firstSeen = rng() < 0.25 ? cfg.dataStartMs + randInt(rng, 0, 14 * DAY_MS) : cfg.dataStartMs - randInt(rng, DAY_MS, 120 * DAY_MS);
  const leaves = rng() < 0.15;
  const goneAt = leaves ? Math.max(firstSeen, cfg.dataStartMs) + randInt(rng, 6 * HOUR_MS, 10 * DAY_MS) : null;
  const renamed = rng() < 0.1;
  const hostname = `${type.prefix}-${String(1000 + i)}`;
  const tagCount = type.dhcp ? (rng() < 0.1 ? 1 : 0) : randInt(rng, 1, 2);
  return {
    did: 100 + i,
    type,
    sid,
    macaddress: Array.from({ length: 6 }, () => hex2(randInt(rng, 0, 255))).join(':'),
    vendor: pick(rng, type.vendors),
    os: pick(rng, type.os),
    hostname,
    renamedAt: renamed ? Math.max(firstSeen, cfg.dataStartMs) + randInt(rng, HOUR_MS, 7 * DAY_MS) : null,
    renamedTo: `${hostname}-new`,
    firstSeen,
    goneAt,
    leaseMs: randInt(rng, 4, 48) * HOUR_MS,
    staticIp: `10.${sid}.200.${10 + i}`,
    tags: TAGS.slice(i % TAGS.length, (i % TAGS.length) + tagCount),
    activityMs: type.dhcp ? randInt(rng, 10, 36 * 60) * MINUTE_MS : MINUTE_MS,
  };
}

/** The address of lease `epoch` (a DHCP client keeps it with probability 1/2 on renewal). */
function leaseIp(cfg: DeviceConfig, p: DevicePlan, epoch: number): string {
  if (!p.type.dhcp) return p.staticIp;
  let e = epoch;
  while (e > 0 && rngFor(cfg.seed, 'devices-renew', p.did, e)() < 0.5) e--;
  const rng = rngFor(cfg.seed, 'devices-ip', p.did, e);
  return `10.${p.sid}.${randInt(rng, 0, 199)}.${randInt(rng, 2, 254)}`;
}

function ymdhms(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}

/** The device as the appliance shows it at `nowMs`, or null before it first appears. */
function deviceAt(cfg: DeviceConfig, p: DevicePlan, nowMs: number, includeTags: boolean): Json | null {
  if (nowMs < p.firstSeen) return null;
  const until = p.goneAt === null ? nowMs : Math.min(nowMs, p.goneAt);
  const lastSeen = until - ((until - p.firstSeen) % p.activityMs);
  const epochOf = (t: number) => Math.floor((t - p.firstSeen) / p.leaseMs);
  const current = epochOf(lastSeen);
  // ips: the addresses of the last leases, each with the last time it was seen with it, newest first.
  const ips: Json[] = [];
  const seen = new Set<string>();
  for (let e = current; e >= Math.max(0, current - 4); e--) {
    const ip = leaseIp(cfg, p, e);
    if (seen.has(ip)) continue;
    seen.add(ip);
    const timems = e === current ? lastSeen : Math.floor((p.firstSeen + (e + 1) * p.leaseMs - 1) / HOUR_MS) * HOUR_MS;
    ips.push({ ip, timems, time: ymdhms(timems), sid: p.sid });
  }
  const hostname = p.renamedAt !== null && lastSeen >= p.renamedAt ? p.renamedTo : p.hostname;
  // Key order of the guide's device objects; absent fields stay absent (reference §3.1).
  const device: Json = {
    did: p.did,
    macaddress: p.macaddress,
    vendor: p.vendor,
    ip: ips[0]!['ip'],
    ips,
    sid: p.sid,
    hostname,
    firstSeen: p.firstSeen,
    lastSeen,
    os: p.os,
    typename: p.type.typename,
    typelabel: p.type.typelabel,
  };
  if (includeTags) device['tags'] = p.tags;
  return device;
}

/** `seensince`: seconds, or a number with a unit (`30min`, `2hour`, `1day`, `1week`, `3month`); 1 s to 6 months. */
export function parseSeenSince(v: string): number | null {
  const m = /^(\d+)\s*(s|sec|secs|second|seconds|min|mins|minute|minutes|hour|hours|day|days|week|weeks|month|months)?$/i.exec(v.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const unit = (m[2] ?? 's').toLowerCase();
  const ms = unit.startsWith('mo') ? 30 * DAY_MS : unit.startsWith('w') ? 7 * DAY_MS : unit.startsWith('d') ? DAY_MS : unit.startsWith('h') ? HOUR_MS : unit.startsWith('mi') ? MINUTE_MS : 1000;
  const total = n * ms;
  return total >= 1000 && total <= 6 * 30 * DAY_MS ? total : null;
}

export function createDeviceSource(cfg: DeviceConfig) {
  const plans = Array.from({ length: cfg.count }, (_, i) => plan(cfg, i));
  return {
    /** Every device that has appeared by `nowMs` (whatever its lastSeen), by did. */
    all(nowMs: number, includeTags: boolean): Json[] {
      return plans.map((p) => deviceAt(cfg, p, nowMs, includeTags)).filter((d): d is Json => d !== null);
    },
    byDid(did: number, nowMs: number, includeTags: boolean): Json | null {
      const p = plans.find((x) => x.did === did);
      return p ? deviceAt(cfg, p, nowMs, includeTags) : null;
    },
  };
}
