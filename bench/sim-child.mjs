// The Darktrace simulator in its own process (so its JSON rendering never shares an event loop
// with the byte-counting receiver), driven over IPC by bench/lib.mjs. Started with `--import tsx`.
import { startSimulator } from '../packages/darktrace-sim/src/index.ts';

let sim;
process.on('message', async (m) => {
  try {
    let result;
    switch (m.op) {
      case 'start': {
        const o = { ...m.args };
        sim = await startSimulator(o);
        result = { url: sim.url, port: sim.port };
        break;
      }
      case 'expectedIds': result = sim.expectedIds(m.args.service, m.args.uptoMs); break;
      case 'addModelBreaches': {
        result = [];
        for (let i = 0; i < m.args.n; i++) {
          const r = sim.addModelBreach();
          result.push({ pbid: r.pbid, creationTime: r.creationTime });
        }
        break;
      }
      case 'requestCount': {
        const log = sim.requestLog();
        const by = {};
        for (const e of log) by[e.path] = (by[e.path] ?? 0) + 1;
        result = { total: log.length, by };
        break;
      }
      case 'injectFault': sim.injectFault(m.args); result = true; break;
      case 'setLatency': sim.setLatency(m.args.ms); result = true; break;
      case 'close': await sim.close(); result = true; break;
      default: throw new Error(`unknown op ${m.op}`);
    }
    process.send({ id: m.id, result });
  } catch (err) {
    process.send({ id: m.id, error: String(err?.stack ?? err) });
  }
});
process.on('disconnect', () => process.exit(0));
