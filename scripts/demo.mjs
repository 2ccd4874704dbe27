// Demo: start the Darktrace simulator, run the collector on config/demo.yaml (console output)
// with a 6-hour backfill, stop both cleanly after DEMO_SECONDS (default 20) or on Ctrl-C.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const seconds = Number(process.env.DEMO_SECONDS ?? 20);
const simPort = Number(process.env.DEMO_SIM_PORT ?? 18443);
const config = parse(readFileSync(path.join(root, 'config/demo.yaml'), 'utf8'));
const start = new Date(Date.now() - 6 * 3600_000).toISOString().slice(0, 13) + ':00:00';
for (const s of ['modelbreaches', 'aianalyst_incidentevents', 'antigena']) {
  config.inputs.darktrace.services[s].start_time_in_utc_format = start;
}
config.inputs.darktrace.credentials.instance = `http://127.0.0.1:${simPort}`;
if (process.env.DEMO_WEB_PORT) config.globals.web_service.port = Number(process.env.DEMO_WEB_PORT);
const stateDir = path.join(root, 'state', 'demo');
mkdirSync(stateDir, { recursive: true });
const generated = path.join(stateDir, 'demo.generated.yaml');
writeFileSync(generated, stringify(config));

const sim = spawn(process.execPath, [
  path.join(root, 'dist/darktrace-sim.js'), '--port', String(simPort), '--host', '127.0.0.1',
  '--public-token', config.inputs.darktrace.credentials.public_token,
  '--private-token', config.inputs.darktrace.credentials.private_token,
  '--data-start', new Date(Date.now() - 7 * 86400_000).toISOString(),
], { stdio: ['ignore', 'pipe', 'inherit'] });
await new Promise((resolve, reject) => {
  sim.stdout.on('data', (d) => { process.stdout.write(`[simulator] ${d}`); if (String(d).includes('listening')) resolve(); });
  sim.once('exit', (code) => reject(new Error(`simulator exited with code ${code}`)));
});

const collector = spawn(process.execPath, [path.join(root, 'dist/main.js'), '--config', generated], { cwd: root, stdio: 'inherit' });
const stop = () => collector.kill('SIGTERM');
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
const timer = setTimeout(stop, seconds * 1000);
const code = await new Promise((resolve) => collector.once('exit', (c) => resolve(c ?? 1)));
clearTimeout(timer);
sim.kill('SIGTERM');
console.log(`[demo] collector exited with code ${code}`);
process.exit(code);
