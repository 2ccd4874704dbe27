// Benchmark 3 (live part): a steady live tail (request_period_in_seconds 1) with new breaches
// added to the simulator at a fixed rate; latency from creationTime to arrival at the mutual-TLS
// receiver (p50/p99) and the steady RSS of the three processes (VmRSS every 200 ms).
import { collectorConfig, forkSim, makeCerts, makeWorkspace, percentile, runCollector, settles, sleep, startReceiver, startRssSampler, teardownScenario, writeConfig } from './lib.mjs';

export async function benchLiveTail({ seconds = 60, perSecond = 5 } = {}) {
  const startMs = Math.floor((Date.now() - 3_600_000) / 1000) * 1000;
  const sim = await forkSim({ seed: 31, dataStartMs: startMs, modelBreachesPerHour: 60 });
  const certs = makeCerts();
  const created = new Map();
  const latencies = [];
  const rx = await startReceiver({
    certs,
    onRecord: (id) => {
      const t = created.get(id);
      if (t !== undefined && !created.get(`${id}:seen`)) {
        created.set(`${id}:seen`, 1);
        latencies.push(Date.now() - t);
      }
    },
  });
  const dir = makeWorkspace('bench-live-');
  const start = new Date(startMs).toISOString().slice(0, 19);
  writeConfig(dir, collectorConfig({
    simUrl: sim.url, start,
    services: { modelbreaches: { start_time_in_utc_format: start, request_period_in_seconds: 1 } },
    outputs: { devo_1: { type: 'devo_platform', config: { address: '127.0.0.1', port: rx.port, chain: certs.caPath, cert: certs.clientCertPath, key: certs.clientKeyPath } } },
  }));
  const c = runCollector(dir);
  const rss = startRssSampler(() => ({ supervisor: c.proc.pid, ...c.pids() }));
  try {
    await c.waitFor(/modelbreaches#predefined\) -> Received response, messages/, 60_000);
    const tSteady = performance.now();
    let added = 0;
    for (let s = 0; s < seconds; s++) {
      const rows = await sim.call('addModelBreaches', { n: perSecond });
      for (const r of rows) created.set(String(r.pbid), r.creationTime);
      added += rows.length;
      await sleep(1000);
    }
    await settles(() => latencies.length >= added, 30_000, 100);
    const sorted = [...latencies].sort((a, b) => a - b);
    return {
      seconds, perSecond, added, arrived: latencies.length,
      latencyMs: { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] },
      rssSteady: rss.summary(tSteady + 10_000),
    };
  } finally {
    await teardownScenario({ rss, collector: c, receiver: rx, sim, dir, certs });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) console.log(JSON.stringify(await benchLiveTail({ seconds: Number(process.argv[2] ?? 60) }), null, 2));
