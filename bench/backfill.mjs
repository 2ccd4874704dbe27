// Benchmark 1: a 30-day modelbreaches backfill of sparse history (`perHour` breaches an hour,
// configured 60-minute windows: 721 at that length; the puller grows them over sparse history)
// against the simulator answering every request after `latencyMs` (100 ms); wall time from
// collector start to the puller's end-of-backfill line ("Received response,
// messages(total/duplicated) ..."), windows actually requested, requests made, and the delivered
// set compared exactly with the simulator's expectedIds.
import { rmSync } from 'node:fs';
import { collectorConfig, forkSim, makeWorkspace, runCollector, settles, startReceiver, writeConfig } from './lib.mjs';

const HOUR = 3_600_000;

export async function benchBackfill({ days = 30, latencyMs = 100, perHour = 2, requestsPerSecond, label = 'default settings' } = {}) {
  const now = Date.now();
  const startMs = Math.floor(now / HOUR) * HOUR - days * 24 * HOUR;
  const sim = await forkSim({ seed: 11, dataStartMs: startMs, modelBreachesPerHour: perHour, latencyMs });
  const rx = await startReceiver();
  const dir = makeWorkspace('bench-backfill-');
  const start = new Date(startMs).toISOString().slice(0, 19);
  const input = requestsPerSecond ? { requests_per_second: requestsPerSecond } : {};
  writeConfig(dir, collectorConfig({
    simUrl: sim.url, start,
    services: { modelbreaches: { start_time_in_utc_format: start } },
    outputs: { relay_1: { type: 'relay', config: { address: '127.0.0.1', port: rx.port } } },
    input,
  }));
  const c = runCollector(dir);
  const t0 = c.startedAt;
  try {
    const slots = await c.waitFor(/modelbreaches#predefined\) -> Total number of time slots to be processed: (\d+)/, 60_000);
    // The estimate at the configured length: the first cycle covers at most this many hours.
    const nSlots = Number(/processed: (\d+)/.exec(slots)[1]);
    await c.waitFor(/modelbreaches#predefined\) -> Received response, messages\(total\/duplicated\)/, 600_000);
    const doneAt = performance.now();
    const doneS = (doneAt - t0) / 1000;
    // Everything served up to the end of the backfill must arrive (the sender settles after ~2 s).
    const expected = await sim.call('expectedIds', { service: 'modelbreaches', uptoMs: startMs + nSlots * HOUR });
    await settles(() => expected.every((id) => rx.ids.has(id)), 60_000, 100);
    const missing = expected.filter((id) => !rx.ids.has(id));
    let dups = 0;
    for (const n of rx.ids.values()) dups += n - 1;
    const reqs = await sim.call('requestCount');
    const ready = c.lines.find((l) => /Started all objects from "MainProcess"/.test(l));
    return {
      label,
      days,
      latencyMs,
      requestsPerSecond: requestsPerSecond ?? 'default (20)',
      plannedWindows: nSlots,
      windows: reqs.by['/modelbreaches'] ?? 0,
      wallToDoneS: doneS,
      wallToLastRecordS: (rx.lastRecordAt - t0) / 1000,
      requests: reqs.total,
      requestsByPath: reqs.by,
      expected: expected.length,
      delivered: rx.ids.size,
      missing: missing.length,
      duplicates: dups,
      extra: [...rx.ids.keys()].filter((id) => !expected.includes(id)).length,
      perWindowMs: (doneS * 1000) / Math.max(1, reqs.by['/modelbreaches'] ?? 0),
      readySeen: Boolean(ready),
    };
  } finally {
    await c.stop();
    await rx.stop();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await benchBackfill({ requestsPerSecond: process.argv[2] ? Number(process.argv[2]) : undefined });
  console.log(JSON.stringify(r, null, 2));
}
