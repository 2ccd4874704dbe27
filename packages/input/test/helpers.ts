import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordTexts, configureLogging, onLogRecord, type EventBatch, type ServiceConfig } from '@devo-collector/common';
import { createDarktraceClient } from '@devo-collector/darktrace';
import { startSimulator, type Simulator, type SimulatorOptions } from '@devo-collector/darktrace-sim';
import { until } from '@devo-collector/testkit';
import type { BatchSink } from '../src/delivery/batch-sink.js';
import type { DarktraceApi } from '../src/client.js';
import { createTimeSlotPuller } from '../src/pullers/time-slot-puller.js';
import type { Puller } from '../src/pullers/puller.js';
import { openStateStore, type StateStore } from '../src/state/state-store.js';

export const TOKENS = { publicToken: 'test-public-token-ABCDEF012345', privateToken: 'test-private-token-ZYXW98765' };
export const HOUR = 3_600_000;

/** Captures log lines (and keeps the console quiet) for the duration of a test file. */
export function captureLogs(): { lines: string[]; dispose: () => void } {
  configureLogging({ processName: 'InputProcess', silent: true });
  const lines: string[] = [];
  const dispose = onLogRecord((r) => lines.push(`${r.level.toUpperCase()} ${r.component} -> ${r.message}`));
  return { lines, dispose };
}

export async function tempDir(prefix = 'input-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export async function startSim(o: Partial<SimulatorOptions> = {}): Promise<Simulator> {
  return startSimulator({ ...TOKENS, seed: 42, order: 'shuffled', ...o });
}

export function realClient(sim: Simulator, o: { requestTimeoutMs?: number; maxRetries?: number } = {}): DarktraceApi {
  return createDarktraceClient({
    baseUrl: sim.url,
    ...TOKENS,
    requestTimeoutMs: o.requestTimeoutMs ?? 5000,
    maxRetries: o.maxRetries ?? 1,
    requestsPerSecond: 500,
    retryBaseDelayMs: 10,
    retryMaxDelayMs: 50,
  });
}

/** A sink that records batches and acks them at once, or holds them until told to. */
export class RecordingSink implements BatchSink {
  readonly sent: EventBatch[] = [];
  readonly acked: EventBatch[] = [];
  private held: Array<{ batch: EventBatch; resolve: () => void }> = [];

  constructor(public autoAck = true) {}

  send(batch: EventBatch): Promise<void> {
    // Copied as the lane would: the records are views of a response freed once its window commits.
    batch = { ...batch, data: new Uint8Array(batch.data) };
    this.sent.push(batch);
    if (this.autoAck) {
      this.acked.push(batch);
      return Promise.resolve();
    }
    return new Promise((resolve) => this.held.push({ batch, resolve }));
  }

  ackAll(): void {
    const h = this.held;
    this.held = [];
    for (const { batch, resolve } of h) {
      this.acked.push(batch);
      resolve();
    }
  }

  get heldCount(): number {
    return this.held.length;
  }

  records(service: string, which: 'acked' | 'sent' = 'acked'): Array<Record<string, unknown>> {
    return (which === 'acked' ? this.acked : this.sent)
      .filter((b) => b.serviceName === service)
      .flatMap((b) => recordTexts(b).map((r) => JSON.parse(r) as Record<string, unknown>));
  }
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
  await until(cond, timeoutMs, what, undefined, 25);
}

/** Key a delivered record counts as, in the simulator's expectedIds terms. */
export function simId(service: string, r: Record<string, unknown>): string {
  switch (service) {
    case 'modelbreaches':
      return String(r['pbid']);
    case 'aianalyst_incidentevents':
      return String(r['id']);
    default:
      return String(r['codeid']);
  }
}

/** The dedup identity: two deliveries with the same identity are a duplicate. */
export function identity(service: string, r: Record<string, unknown>): string {
  switch (service) {
    case 'modelbreaches':
      return String(r['pbid']);
    case 'aianalyst_incidentevents':
      return `${String(r['id'])}|${String(r['groupScore'])}|${String(r['currentGroup'])}`;
    default:
      return `${String(r['codeid'])}|${String(r['updated'])}`;
  }
}

export function duplicates(list: string[]): string[] {
  const seen = new Set<string>();
  return list.filter((x) => (seen.has(x) ? true : (seen.add(x), false)));
}

interface DirectPuller {
  puller: Puller;
  store: StateStore;
  client: DarktraceApi;
}

/** A time-slot puller over the real client, without the setup step (fault tests). */
export async function directPuller(p: {
  sim: Simulator;
  service: ServiceConfig;
  sink: BatchSink;
  stateDir: string;
  client?: DarktraceApi;
  maxInFlightBytes?: number;
}): Promise<DirectPuller> {
  const client = p.client ?? realClient(p.sim);
  const store = await openStateStore({
    mode: 'filesystem',
    directory: p.stateDir,
    inputName: 'darktrace',
    inputId: '122312',
    service: p.service.name,
    startTimeText: p.service.startTimeText,
    version: p.service.persistenceVersion,
    ownerName: `CollectorDarktracePuller(darktrace#122312,${p.service.name}#predefined)`,
  });
  const puller = createTimeSlotPuller({
    inputName: 'darktrace',
    inputId: '122312',
    service: p.service,
    client,
    store,
    sink: p.sink,
    maxMessagesPerBatch: 10,
    maxInFlightBytes: p.maxInFlightBytes,
    retry: { baseMs: 20, capMs: 100 },
  });
  return { puller, store, client };
}
