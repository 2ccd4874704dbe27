/**
 * The Darktrace simulator in its own process (so its JSON rendering never shares an event loop
 * with a byte-counting receiver), driven over IPC by `forkSimulator` (sim-fork.ts). Run with `--import tsx`.
 */
import { startSimulator, type FaultSpec, type SimService, type Simulator, type SimulatorOptions } from '@devo-collector/darktrace-sim';

interface Call {
  id: number;
  op: string;
  args: { service: SimService; uptoMs?: number; n: number; ms: number } & SimulatorOptions & FaultSpec;
}
let sim: Simulator | undefined;

async function handle(m: Call, s: () => Simulator): Promise<unknown> {
  switch (m.op) {
    case 'start':
      sim = await startSimulator(m.args);
      return { url: sim.url, port: sim.port };
    case 'expectedIds': return s().expectedIds(m.args.service, m.args.uptoMs);
    case 'addModelBreaches':
      return Array.from({ length: m.args.n }, () => {
        const r = s().addModelBreach();
        return { pbid: r.pbid, creationTime: r.creationTime };
      });
    case 'requestCount': {
      const log = s().requestLog();
      const by: Record<string, number> = {};
      for (const e of log) by[e.path] = (by[e.path] ?? 0) + 1;
      return { total: log.length, by };
    }
    case 'injectFault': s().injectFault(m.args); return true;
    case 'setLatency': s().setLatency(m.args.ms); return true;
    case 'close': await s().close(); return true;
    default: throw new Error(`unknown op ${m.op}`);
  }
}

process.on('message', (m: Call) => {
  handle(m, () => sim ?? (() => { throw new Error('not started'); })()).then(
    (result) => process.send!({ id: m.id, result }),
    (err: unknown) => process.send!({ id: m.id, error: String((err as Error)?.stack ?? err) }),
  );
});
process.on('disconnect', () => process.exit(0));
