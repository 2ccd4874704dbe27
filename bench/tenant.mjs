// What one tenant costs at steady state (docs/deployment.md, "What a tenant costs"): one collector
// with all five services at their default request periods (60 s), against a simulator producing a
// busy appliance's volume (120 breaches, 30 AI Analyst events, 30 RESPOND actions an hour of
// history; new breaches at 120 an hour while measuring), after its backfill of the last hour; CPU seconds (utime+stime) and VmRSS of the three processes over
// the steady window, and the state directory's size. Delivery over mutual TLS, all loopback.
//   node bench/tenant.mjs [seconds=300]
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { collectorConfig, cpuSeconds, forkSim, makeCerts, makeWorkspace, runCollector, sleep, startReceiver, startRssSampler, teardownScenario, writeConfig } from './lib.mjs';

function duBytes(dir) {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    n += e.isDirectory() ? duBytes(p) : statSync(p).size;
  }
  return n;
}

export async function benchTenant({ seconds = 300 } = {}) {
  const startMs = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;
  const sim = await forkSim({ seed: 41, dataStartMs: startMs, modelBreachesPerHour: 120, aiEventsPerHour: 30, antigenaPerHour: 30 });
  const certs = makeCerts();
  const rx = await startReceiver({ certs });
  const dir = makeWorkspace('bench-tenant-');
  const start = new Date(startMs).toISOString().slice(0, 19);
  writeConfig(dir, collectorConfig({
    simUrl: sim.url, start,
    services: {
      modelbreaches: { start_time_in_utc_format: start },
      aianalyst_incidentevents: { start_time_in_utc_format: start },
      antigena: { start_time_in_utc_format: start },
      summarystatistics: {},
      status: {},
    },
    outputs: { devo_1: { type: 'devo_platform', config: { address: '127.0.0.1', port: rx.port, chain: certs.caPath, cert: certs.clientCertPath, key: certs.clientKeyPath } } },
    globals: { sender_stats_period_in_sec: 300 },
  }));
  const c = runCollector(dir);
  const pids = () => ({ supervisor: c.proc.pid, ...c.pids() });
  const rss = startRssSampler(pids, 1000);
  try {
    await c.waitFor(/modelbreaches#predefined\) -> Received response, messages/, 60_000);
    await sleep(10_000); // the other services' first pulls
    const p = pids();
    const cpu0 = Object.fromEntries(Object.entries(p).map(([k, pid]) => [k, cpuSeconds(pid)]));
    const t0 = performance.now();
    // New records keep arriving at the configured hourly rates while we wait.
    // New breaches keep arriving at 120 an hour (one every 30 s) while we measure.
    for (let s = 0; s < seconds; s += 30) {
      await sim.call('addModelBreaches', { n: 1 });
      await sleep(30_000);
    }
    const wall = (performance.now() - t0) / 1000;
    const cpu = Object.fromEntries(Object.entries(p).map(([k, pid]) => [k, +(cpuSeconds(pid) - cpu0[k]).toFixed(2)]));
    const total = Object.values(cpu).reduce((a, b) => a + b, 0);
    return {
      seconds: +wall.toFixed(0),
      cpuSeconds: cpu,
      millicores: +((total / wall) * 1000).toFixed(1),
      rss: rss.summary(t0),
      stateBytes: duBytes(path.join(dir, 'state')),
    };
  } finally {
    await teardownScenario({ rss, collector: c, receiver: rx, sim, dir, certs });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await benchTenant({ seconds: Number(process.argv[2] ?? 300) }), null, 2));
