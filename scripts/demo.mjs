// Demo: start the Darktrace simulator, run the collector on config/demo.yaml (console output)
// with a 6-hour backfill, stop both cleanly after DEMO_SECONDS (default 20) or on Ctrl-C.
import { spawn } from 'node:child_process';
import net from 'node:net';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const seconds = Number(process.env.DEMO_SECONDS ?? 20);
// Port 0 (the default): the simulator picks a free port and prints its URL; a busy fixed port is
// named in one line instead of a stack trace.
const simPort = Number(process.env.DEMO_SIM_PORT ?? 0);

/** A free TCP port on 127.0.0.1 for the collector's web service (DEMO_WEB_PORT overrides it). */
function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer().once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}
const config = parse(readFileSync(path.join(root, 'config/demo.yaml'), 'utf8'));
const start = new Date(Date.now() - 6 * 3600_000).toISOString().slice(0, 13) + ':00:00';
for (const s of ['modelbreaches', 'aianalyst_incidentevents', 'antigena']) {
  config.inputs.darktrace.services[s].start_time_in_utc_format = start;
}
config.globals.web_service.port = Number(process.env.DEMO_WEB_PORT ?? (await freePort()));
const stateDir = path.join(root, 'state', 'demo');
mkdirSync(stateDir, { recursive: true });
const generated = path.join(stateDir, 'demo.generated.yaml');

const sim = spawn(process.execPath, [
  path.join(root, 'dist/darktrace-sim.js'), '--port', String(simPort), '--host', '127.0.0.1',
  '--public-token', config.inputs.darktrace.credentials.public_token,
  '--private-token', config.inputs.darktrace.credentials.private_token,
  '--data-start', new Date(Date.now() - 7 * 86400_000).toISOString(),
], { stdio: ['ignore', 'pipe', 'pipe'] });
let simErr = '';
sim.stderr.on('data', (d) => (simErr += d));
const earlyExit = (code) => {
  const busy = /EADDRINUSE/.test(simErr) ? `port ${simPort} is already in use (unset DEMO_SIM_PORT to pick a free one)` : simErr.trim().split('\n').pop();
  console.error(`[demo] the Darktrace simulator could not start: ${busy || `exit code ${code}`}`);
  process.exit(1);
};
sim.once('exit', earlyExit);
const simUrl = await new Promise((resolve) => {
  sim.stdout.on('data', (d) => {
    process.stdout.write(`[simulator] ${d}`);
    const m = /listening on (\S+)/.exec(String(d));
    if (m) resolve(m[1]);
  });
});
sim.off('exit', earlyExit);
sim.stderr.pipe(process.stderr);
config.inputs.darktrace.credentials.instance = simUrl.replace(/\/+$/, '');
writeFileSync(generated, stringify(config));
console.log(`[demo] simulator at ${config.inputs.darktrace.credentials.instance}, collector web service at http://127.0.0.1:${config.globals.web_service.port}/ready`);

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
