/**
 * `node cli.js --port 8443 --public-token P --private-token S [--seed 1] [--breaches-per-hour 2]
 *  [--ai-events-per-hour 1] [--antigena-per-hour 1] [--late-created-share 0.1] [--pinned-ai-events 2]
 *  [--latency-ms 0] [--order newest-first|oldest-first|shuffled] [--data-start 2024-01-01T00:00:00Z]
 *  [--devices 40] [--unified-view]`
 * Tokens may also come from DARKTRACE_SIM_PUBLIC_TOKEN / DARKTRACE_SIM_PRIVATE_TOKEN so they do not
 * show up in `ps`.
 */
import { parseArgs } from 'node:util';
import { startSimulator } from './server.js';
import type { SimOrder, SimulatorOptions } from './types.js';

const ORDERS: readonly SimOrder[] = ['newest-first', 'oldest-first', 'shuffled'];

function num(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got ${JSON.stringify(v)}`);
  return n;
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '8443' },
      host: { type: 'string', default: '127.0.0.1' },
      'public-token': { type: 'string' },
      'private-token': { type: 'string' },
      seed: { type: 'string' },
      'breaches-per-hour': { type: 'string' },
      'ai-events-per-hour': { type: 'string' },
      'antigena-per-hour': { type: 'string' },
      'late-created-share': { type: 'string' },
      'pinned-ai-events': { type: 'string' },
      'latency-ms': { type: 'string' },
      order: { type: 'string' },
      'data-start': { type: 'string' },
      devices: { type: 'string' },
      'unified-view': { type: 'boolean' },
    },
  });
  const publicToken = values['public-token'] ?? process.env['DARKTRACE_SIM_PUBLIC_TOKEN'];
  const privateToken = values['private-token'] ?? process.env['DARKTRACE_SIM_PRIVATE_TOKEN'];
  if (!publicToken || !privateToken) throw new Error('--public-token and --private-token are required');
  const order = values.order as SimOrder | undefined;
  if (order !== undefined && !ORDERS.includes(order)) throw new Error(`--order must be one of ${ORDERS.join(', ')}`);
  const dataStart = values['data-start'] !== undefined ? Date.parse(values['data-start']) : undefined;
  if (dataStart !== undefined && Number.isNaN(dataStart)) throw new Error('--data-start must be an ISO date');

  const opts: SimulatorOptions = { publicToken, privateToken, host: values.host, port: num('port', values.port) ?? 8443 };
  const optional: Partial<SimulatorOptions> = {
    seed: num('seed', values.seed),
    modelBreachesPerHour: num('breaches-per-hour', values['breaches-per-hour']),
    aiEventsPerHour: num('ai-events-per-hour', values['ai-events-per-hour']),
    antigenaPerHour: num('antigena-per-hour', values['antigena-per-hour']),
    lateCreatedShare: num('late-created-share', values['late-created-share']),
    pinnedAiEvents: num('pinned-ai-events', values['pinned-ai-events']),
    latencyMs: num('latency-ms', values['latency-ms']),
    order,
    dataStartMs: dataStart,
    devices: num('devices', values.devices),
    unifiedView: values['unified-view'],
  };
  for (const [k, v] of Object.entries(optional)) if (v !== undefined) (opts as unknown as Record<string, unknown>)[k] = v;

  const sim = await startSimulator(opts);
  process.stdout.write(`Darktrace simulator listening on ${sim.url}\n`);
  const stop = (signal: string) => {
    process.stdout.write(`Darktrace simulator stopping (${signal})\n`);
    void sim.close().then(() => process.exit(0));
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`darktrace-sim: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(2);
});
