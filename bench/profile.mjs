// Profiles the collector during the throughput scenario: `node --cpu-prof dist/main.js` (cluster workers inherit
// process.execArgv; Node 20 refuses --cpu-prof in NODE_OPTIONS); prints the top self-time functions of each profile.
// `node bench/profile.mjs [hours]` (default 40 hours ≈ 20,000 breaches).
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { benchThroughput } from './throughput.mjs';

export function summariseProfile(file, top = 15) {
  const prof = JSON.parse(readFileSync(file, 'utf8'));
  const self = new Map();
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const dt = new Map();
  for (let i = 0; i < prof.samples.length; i++) dt.set(prof.samples[i], (dt.get(prof.samples[i]) ?? 0) + (prof.timeDeltas[i] ?? 0));
  let total = 0;
  for (const [id, us] of dt) {
    const n = byId.get(id);
    const cf = n.callFrame;
    const key = `${cf.functionName || '(anonymous)'} ${cf.url ? path.basename(cf.url) : ''}:${cf.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + us);
    total += us;
  }
  const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, top);
  return { file: path.basename(file), totalMs: total / 1000, top: rows.map(([k, us]) => ({ fn: k, ms: us / 1000, pct: (100 * us) / total })) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'bench-prof-'));
  process.env.BENCH_NODE_ARGS = `--cpu-prof --cpu-prof-dir=${dir}`;
  const r = await benchThroughput({ hours: Number(process.argv[2] ?? 40) });
  delete process.env.BENCH_NODE_ARGS;
  console.log(JSON.stringify({ eps: r.eps, records: r.records, cpuSeconds: r.cpuSeconds }, null, 1));
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const s = summariseProfile(path.join(dir, f));
    console.log(`\n== ${s.file} total ${s.totalMs.toFixed(0)} ms`);
    for (const r of s.top) console.log(`${r.pct.toFixed(1).padStart(5)}% ${r.ms.toFixed(0).padStart(7)} ms  ${r.fn}`);
  }
  console.log(`profiles in ${dir}`);
}
