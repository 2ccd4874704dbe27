/**
 * Time-slot puller (modelbreaches, aianalyst_incidentevents, antigena). Design (README.md):
 * - windows of `windowMs` from the committed cursor (or start time) up to now; afterwards a live
 *   tail every `requestPeriodMs` whose first window re-reads `overlapMs` before the cursor;
 * - up to `maxWindowsInFlight` windows are fetched concurrently (slot-fetcher.ts), but processed
 *   (dedup: slot-dedup.ts, send) and committed (commit-chain.ts) strictly in window order: the
 *   cursor never passes a window that is not fully acked;
 * - windows are sized by volume (window-sizer.ts): shorter after a big one, longer over sparse
 *   history; a window whose response is over the size limit is replaced by its halves;
 * - a failed window is retried with backoff until it succeeds, never skipped;
 * - dedup against the persisted seen ids plus the ids in flight; ids count as seen only once acked.
 */
import { recordCount, sleep } from '@devo-collector/common';
import { buildBatches } from '../delivery/batch-sink.js';
import { InFlightGate } from '../delivery/inflight-gate.js';
import { formatPullStart, formatSlotTime } from '../time-format.js';
import { CommitChain } from './commit-chain.js';
import { DEFAULT_MAX_IN_FLIGHT_BYTES, whenAborted, type Puller, type PullerOptions } from './puller.js';
import { PullerBase } from './puller-base.js';
import { serviceProfile } from './service-profile.js';
import { SlotDedup, type FreshRecord } from './slot-dedup.js';
import { SlotFetcher, type SlotFetch } from './slot-fetcher.js';
import { SlotQueue } from './slot-queue.js';
import { planTimeSlots, type TimeSlot } from './time-slot.js';
import { FIRST_WINDOW_MS, WindowSizer } from './window-sizer.js';

export { planTimeSlots, type TimeSlot } from './time-slot.js';

/**
 * Responses held ahead of delivery, in JSON bytes (held as raw response bytes, see pulled-record.ts).
 * Windows are sized to ~2 MB once the volume is known (window-sizer.ts), so 8 MiB still keeps
 * 3-4 windows in flight: the appliance always has a request to work on while one is processed
 * (12 MiB cost ~5 MB more input RSS at the 60k-breach burst for no throughput, docs/BENCHMARKS.md).
 */
const FETCH_AHEAD_BUDGET_BYTES = 8 * 1024 * 1024;

class TimeSlotPuller extends PullerBase {
  private readonly gate: InFlightGate;
  private readonly dedup: SlotDedup;
  private readonly fetcher: SlotFetcher;
  private readonly commits: CommitChain;
  /** JSON bytes per ms of window in the last window processed (null before the first): sizes how many windows may be fetched ahead. */
  private bytesPerMs: number | null = null;
  private readonly sizer: WindowSizer;
  /**
   * Until the first cycle completes, what we send may already have been sent by the process that
   * ran before us (its windows in flight when it died): batches go out marked `replay`, and the
   * output drops records its delivery ledger already holds. Not after a start_time reset.
   */
  private replay: boolean;

  constructor(opts: PullerOptions) {
    super(opts, `CollectorDarktracePuller(${opts.inputName}#${opts.inputId},${opts.service.name}#predefined)`);
    this.replay = !opts.store.startTimeReset;
    this.dedup = new SlotDedup(opts.service.maxSeenIds, opts.store.data.seen);
    this.sizer = new WindowSizer(opts.service.windowMs, undefined, opts.firstWindowMs ?? FIRST_WINDOW_MS);
    this.fetcher = new SlotFetcher(opts, serviceProfile(opts.service), this.sizer, this.log);
    this.commits = new CommitChain(opts.store, this.log);
    // Every write carries the seen ids as of that write (a superset of those of each commit it
    // carries: all acked), copied once per write instead of once per window commit.
    opts.store.beforeWrite((doc) => {
      doc.seen = this.dedup.entries();
    });
    this.gate = new InFlightGate(
      opts.maxInFlightBytes ?? DEFAULT_MAX_IN_FLIGHT_BYTES,
      (used) => this.log.warn(`Pulling paused: ${used} bytes sent and not yet acknowledged by the output (limit ${this.gate.maxBytes})`),
      () => this.log.info('Pulling resumed: the output acknowledged pending batches'),
    );
  }

  get cursorMs(): number | null {
    return this.opts.store.data.cursor_ms;
  }

  protected async finish(deadlineMs: number): Promise<void> {
    // Windows already sent may still be acked before the deadline: commit them in order.
    const left = Math.max(0, deadlineMs - this.now());
    await Promise.race([this.commits.committed(), sleep(left)]);
  }

  protected async pull(signal: AbortSignal): Promise<void> {
    const period = this.opts.service.requestPeriodMs;
    this.log.info(`Starting data collection every ${Math.round(period / 1000)} seconds`);
    while (!signal.aborted) {
      await this.cycle(signal);
      if (this.commits.failed) return;
      await sleep(period, signal);
    }
  }

  private async cycle(signal: AbortSignal): Promise<void> {
    const t0 = this.now();
    const svc = this.opts.service;
    this.log.info(`Starting a new pulling from darktrace at "${formatPullStart(t0)}"`);
    const planned = planTimeSlots({
      committedCursorMs: this.cursorMs,
      startTimeMs: svc.startTimeMs,
      nowMs: t0,
      windowMs: this.sizer.lengthMs,
      overlapMs: svc.overlapMs,
    });
    this.log.info(`Total number of time slots to be processed: ${planned.length}`);
    // Later windows are planned when they are about to be fetched, at the length the sizer holds then.
    const queue = new SlotQueue<Promise<SlotFetch>>(planned[0], t0, () => this.sizer.lengthMs);
    // Windows fetched ahead are held in memory: with big windows fetch fewer at once.
    // Until one window's size is known, fetch two at once: a first burst of eight big windows
    // would hold them all in memory.
    const aheadFor = (): number =>
      this.bytesPerMs === null
        ? Math.min(2, Math.max(1, svc.maxWindowsInFlight))
        : Math.max(1, Math.min(svc.maxWindowsInFlight, Math.floor(FETCH_AHEAD_BUDGET_BYTES / Math.max(1, this.bytesPerMs * this.sizer.lengthMs))));
    let total = 0;
    let duplicated = 0;
    let processed = 0;
    for (let i = 0; !signal.aborted; ) {
      const entry = queue.at(i);
      if (!entry) break;
      const ahead = aheadFor();
      for (let j = i; j < i + ahead; j++) {
        const e = queue.at(j);
        if (!e) break;
        if (!e.fetch) {
          e.fetch = this.fetcher.fetch(e.slot, signal);
          e.fetch.catch(() => undefined); // awaited in order below; avoid an unhandled rejection meanwhile
        }
      }
      const slot = entry.slot;
      let got: SlotFetch;
      try {
        got = await (entry.fetch as Promise<SlotFetch>);
      } catch {
        return; // only an abort ends a fetch without records
      }
      if (got.halves) {
        // Too large a response: the halves take the slot's place, in order, and are fetched next.
        queue.replace(i, got.halves);
        const [a, b] = got.halves;
        this.log.warn(
          `Time slot >> ${formatSlotTime(slot.startMs)} - ${formatSlotTime(slot.endMs)} split into 2 time slots (${formatSlotTime(a.queryStartMs)} - ${formatSlotTime(a.endMs)}, ${formatSlotTime(b.queryStartMs)} - ${formatSlotTime(b.endMs)}); total number of time slots to be processed: ${queue.estimatedTotal()}`,
        );
        continue;
      }
      entry.fetch = undefined;
      const records = got.records;
      this.log.info(`Number of events received for time slot >> ${formatSlotTime(slot.startMs)} - ${formatSlotTime(slot.endMs)} is: ${records.length}`);
      const { fresh, dups, maxTimeMs } = this.dedup.filter(records);
      const windowBytes = records.reduce((n, r) => n + r.size, 0);
      this.resize(slot, records.length, windowBytes, queue);
      total += records.length;
      duplicated += dups;
      this.opts.metrics?.receivedRecords(this.service, records.length);
      this.opts.metrics?.removedDuplicates(this.service, dups);
      try {
        await this.deliver(slot, fresh, maxTimeMs, signal, got.release);
      } catch {
        return; // aborted while waiting for room: the slot is not committed
      }
      processed += 1;
      if (processed % 12 === 0) this.log.info(`Number of processed time slots so far: ${processed}`);
      i++;
    }
    // The cycle ends when everything it sent is acked and committed (or we are told to stop).
    await Promise.race([this.commits.committed(), whenAborted(signal)]);
    if (signal.aborted || this.commits.failed) return;
    this.replay = false;
    const avg = total > 0 ? (this.now() - t0) / total : 0;
    this.log.info(
      `Received response, messages(total/duplicated): ${total}/${duplicated}/tag template used: "${svc.tag}", avg_time_per_source_message: ${avg.toFixed(3)} ms`,
    );
  }

  /** Feeds a processed window to the sizer; logs when the length of the windows still to plan changes. */
  private resize(slot: TimeSlot, records: number, bytes: number, queue: SlotQueue<unknown>): void {
    const span = slot.endMs - slot.queryStartMs;
    this.bytesPerMs = bytes / Math.max(1, span);
    const next = this.sizer.observe(span, records, bytes);
    if (next === null) return;
    this.log.info(
      `Time slot length set to ${(next / 60_000).toFixed(1)} minutes (time slot >> ${formatSlotTime(slot.startMs)} - ${formatSlotTime(slot.endMs)} had ${records} events, ${bytes} bytes); total number of time slots to be processed: ${queue.estimatedTotal()}`,
    );
  }

  /** `release`: frees the window's response once every batch cut from it is acked and the window committed. */
  private async deliver(slot: TimeSlot, fresh: FreshRecord[], maxTimeMs: number | null, signal: AbortSignal, release?: () => void): Promise<void> {
    this.dedup.sending(fresh);
    const batches = buildBatches(
      fresh.map((f) => f.bytes),
      {
        inputName: this.opts.inputName,
        serviceName: this.service,
        tag: this.opts.service.tag,
        maxMessages: this.opts.maxMessagesPerBatch,
      },
      this.now(),
      fresh.map((f) => (f.hash ? `${f.key}\u0001${f.hash}` : f.key)),
    );
    if (this.replay) for (const b of batches) b.replay = true;
    const acks: Promise<void>[] = [];
    let offset = 0;
    for (const b of batches) {
      const part = fresh.slice(offset, offset + recordCount(b));
      offset += recordCount(b);
      await this.gate.acquire(b.bytes, signal);
      // An ack means the batch is durable downstream: its ids are seen from now on, even before the
      // window commits (later and overlapping windows dedup against them).
      acks.push(this.opts.sink.send(b).finally(() => this.gate.release(b.bytes)).then(() => this.dedup.acked(part)));
    }
    this.commits.add(slot, maxTimeMs, Promise.all(acks), release);
  }
}

export function createTimeSlotPuller(opts: PullerOptions): Puller {
  return new TimeSlotPuller(opts);
}
