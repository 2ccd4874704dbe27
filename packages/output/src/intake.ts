/**
 * The output's durability protocol for a batch that arrives on the lane, in one place:
 *   replay filter (a replayed record the delivery ledger already holds is not spooled again)
 *   -> format (frames of at most SPOOL_FRAME_MAX_BYTES; a lookup job as its lines)
 *   -> append to every output's spool of the batch's group (written: ledger `pending`; fsynced:
 *      ledger `add`) -> `batch-ack` / `batch-rejected` on the lane, in arrival order.
 * output-service.ts owns the lifecycle; this module only asks it whether it is running.
 */
import path from 'node:path';
import { OutputError, recordCount, serializeError, type CompiledConfig, type EventBatch, type LaneAck, type Logger } from '@devo-collector/common';
import type { OutputConfig, OutputMetrics, SenderGroup } from '@devo-collector/common';
import { OUTPUT_ERROR } from './errors.js';
import { formatFrames } from './format.js';
import { openDeliveryLedger, type DeliveryLedger } from './ledger/delivery-ledger.js';
import { formatLookupFrames } from './lookup-frames.js';
import type { SenderManager } from './sender-manager.js';

/**
 * A batch is spooled as consecutive frames of at most this many bytes (a record larger than that
 * is a frame of its own). Why: a kill -9 of this process re-sends the frame whose write to the
 * socket had not completed (part of it may already be in the kernel, on its way to Devo), whole.
 * A frame per batch made that up to ~100 records (~600 KB); 32 KiB bounds it to a few records.
 * Smaller frames cost per frame (a spool entry, a resume-record pwrite, a socket write): at 32 KiB
 * the throughput bench's output CPU stays within its run-to-run noise (~+6 % on average).
 */
export const SPOOL_FRAME_MAX_BYTES = 32 * 1024;

/** One output as it runs: its config and a sender manager (spool + senders) per group. */
export interface OutputRuntime {
  config: OutputConfig;
  managers: Record<SenderGroup, SenderManager>;
}

type Reply = (m: LaneAck) => void | Promise<void>;

const ledgerKey = (ns: string, key: string): string => `${ns}\u0000${key}`;

export class BatchIntake {
  /** What was made durable, per group (counted once per batch, not per output). */
  readonly enqueued: OutputMetrics['enqueued'] = { standard: { count: 0, bytes: 0 }, lookup: { count: 0, bytes: 0 }, internal: { count: 0, bytes: 0 } };
  private target: { hostname: string; outputs: readonly OutputRuntime[]; ledger: DeliveryLedger } | null = null;
  /** Answers leave in arrival order: each waits for the one before it. */
  private ackChain: Promise<void> = Promise.resolve();
  /** Ledger keys of batches accepted but not durable yet: a replayed batch waits for these first. */
  private readonly pendingKeys = new Map<string, Promise<unknown>>();
  /** Refused batches are logged at most every 10 s, with the count of those not logged (a full disk refuses them all). */
  private failLog = { atMs: 0, more: 0 };

  /** `stateOf`: the service's lifecycle state; batches are taken only while it is `running`. */
  constructor(
    private readonly log: Logger,
    private readonly stateOf: () => string,
  ) {}

  /** Opens the delivery ledger (`<persistence>/ledger`; memory persistence: in memory only) for `outputs`. */
  open(config: CompiledConfig, outputs: readonly OutputRuntime[]): void {
    const p = config.globals.persistence;
    const ledger = openDeliveryLedger({ dir: p.type === 'filesystem' ? path.join(p.directory, 'ledger') : null, logger: this.log });
    this.target = { hostname: config.hostname, outputs, ledger };
  }

  close(): void {
    this.target?.ledger.close();
  }

  /** Resolves once every batch accepted so far has had its answer sent. */
  answered(): Promise<void> {
    return this.ackChain;
  }

  /** A batch from the lane: its answer goes back on `reply` (the connection it came on), in arrival order. */
  accept(batch: EventBatch, reply: Reply): void {
    const t = this.target;
    if (this.stateOf() !== 'running' || !t) {
      const e = new OutputError(OUTPUT_ERROR.lifecycle, `batch ${batch.batchId} refused: the output process is ${this.stateOf()}`);
      this.ackChain = this.ackChain.then(() => reply({ type: 'batch-rejected', batchId: batch.batchId, error: serializeError(e) }));
      return;
    }
    const ns = `${batch.inputName}/${batch.serviceName}`;
    // A replayed record may belong to a batch whose append is still running: decide after it.
    const prior = new Set(batch.replay ? batch.keys?.map((k) => this.pendingKeys.get(ledgerKey(ns, k))).filter((p) => p !== undefined) : []);
    const durable: Promise<OutputError | null> =
      prior.size === 0 ? this.append(t, ns, batch) : Promise.allSettled(prior).then(() => this.append(t, ns, batch));
    if (batch.keys) {
      for (const k of batch.keys) this.pendingKeys.set(ledgerKey(ns, k), durable);
      void durable.then(() => {
        for (const k of batch.keys ?? []) if (this.pendingKeys.get(ledgerKey(ns, k)) === durable) this.pendingKeys.delete(ledgerKey(ns, k));
      });
    }
    this.ackChain = this.ackChain.then(async () => {
      const err = await durable;
      if (err) {
        this.logFailed(err);
        await reply({ type: 'batch-rejected', batchId: batch.batchId, error: serializeError(err) });
      } else {
        await reply({ type: 'batch-ack', batchId: batch.batchId });
      }
    });
  }

  private logFailed(err: OutputError): void {
    const now = Date.now();
    if (now - this.failLog.atMs < 10_000) {
      this.failLog.more += 1;
      return;
    }
    const more = this.failLog.more > 0 ? ` (and ${this.failLog.more} more batches refused since the last such line)` : '';
    this.log.error(`${err.toString()}${more}`);
    this.failLog = { atMs: now, more: 0 };
  }

  /**
   * Appends the batch, as frames of at most SPOOL_FRAME_MAX_BYTES, to every output of its group
   * (concurrently; appends of the same tick share group commits), minus, for a replayed batch, the
   * records the ledger says are already durable. Its keys go into the ledger file once all frames
   * are written (pending) and into the ledger once durable, before the ack can leave. Resolves to
   * the error, if any.
   */
  private append({ hostname, outputs, ledger }: NonNullable<BatchIntake['target']>, ns: string, batch: EventBatch): Promise<OutputError | null> {
    const { kept, skipped } = withoutDurable(batch, ns, ledger);
    if (skipped > 0) {
      this.log.info(`Batch ${batch.batchId} (${batch.serviceName}): ${skipped} of ${recordCount(batch)} records were already spooled before a restart and are not sent again`);
    }
    let count = recordCount(kept);
    let bytes = kept.bytes;
    if (count === 0) return Promise.resolve(null);
    // A lookup batch is one record (its job): kept whole or dropped whole by the replay filter.
    const format = batch.group === 'lookup' ? formatLookupFrames : formatFrames;
    if (batch.group === 'lookup') {
      // A job that does not parse is refused whole, before anything is spooled.
      // Counted as the lines it becomes (msg_enqueued_lookup_*).
      try {
        const all = format(kept, hostname, false, Infinity)[0];
        count = all?.messages ?? 0;
        bytes = all?.payload.length ?? 0;
      } catch (err) {
        return Promise.resolve(new OutputError(OUTPUT_ERROR.lookupJob, `batch ${batch.batchId} (${batch.serviceName}) is not a lookup job: ${(err as Error).message}`));
      }
    }
    // Once every frame is in the spool files (before their fsync), a crash of this process no
    // longer loses them: a restart sends them, so the input's replay of this unacknowledged batch
    // must find its keys in the ledger already (see delivery-ledger.ts).
    const keys = kept.keys;
    let unwritten = 0;
    let failed = false;
    let pendingId: number | undefined;
    const onWritten = keys
      ? (): void => {
          if (--unwritten === 0 && !failed) pendingId = ledger.pending(ns, keys);
        }
      : undefined;
    // Every frame of every output is appended in this tick, in order: they share the group commits.
    const appends: Promise<void>[] = [];
    for (const r of outputs) {
      // Lookups go to Devo (devo_platform, relay) and the console only, as the SDK routes them.
      if (batch.group === 'lookup' && r.config.type === 'syslog') continue;
      const manager = r.managers[batch.group];
      for (const f of format(kept, hostname, r.config.octetCounting, SPOOL_FRAME_MAX_BYTES)) {
        unwritten++;
        appends.push(manager.append(f.payload, f.messages, onWritten));
      }
    }
    return Promise.all(appends).then(
      () => {
        if (keys) ledger.add(ns, keys, pendingId);
        this.enqueued[batch.group].count += count;
        this.enqueued[batch.group].bytes += bytes;
        return null;
      },
      (err: unknown) => {
        failed = true;
        if (pendingId !== undefined) ledger.revoke(pendingId);
        return new OutputError(OUTPUT_ERROR.spoolAppend, `batch ${batch.batchId} is not durable: ${(err as Error).message}`);
      },
    );
  }
}

/** The replay filter: a replayed batch without the records `ledger` says are already durable. */
export function withoutDurable(batch: EventBatch, ns: string, ledger: Pick<DeliveryLedger, 'has'>): { kept: EventBatch; skipped: number } {
  const keys = batch.keys;
  if (!batch.replay || !keys) return { kept: batch, skipped: 0 };
  const keep = keys.flatMap((key, i) => (ledger.has(ns, key) ? [] : [i]));
  const skipped = keys.length - keep.length;
  if (skipped === 0) return { kept: batch, skipped };
  const bounds = new Uint32Array(2 * keep.length);
  let bytes = 0;
  keep.forEach((i, o) => {
    bounds.set(batch.bounds.subarray(2 * i, 2 * i + 2), 2 * o);
    bytes += (batch.bounds[2 * i + 1] as number) - (batch.bounds[2 * i] as number);
  });
  return { kept: { ...batch, bounds, bytes, keys: keep.map((i) => keys[i] as string) }, skipped };
}
