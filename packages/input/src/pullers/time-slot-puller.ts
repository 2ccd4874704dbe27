/**
 * Time-slot puller (modelbreaches, aianalyst_incidentevents, antigena). Design (README.md):
 * - windows of `windowMs` from the committed cursor (or start time) up to now; afterwards a live
 *   tail every `requestPeriodMs` whose first window re-reads `overlapMs` before the cursor;
 * - up to `maxWindowsInFlight` windows are fetched concurrently, but processed (dedup, send) and
 *   committed strictly in window order: the cursor never passes a window that is not fully acked;
 * - windows are at most `windowMs`, shorter after a big one (window-sizer.ts); a window whose
 *   response is over the size limit is replaced by its halves, down to a 1-minute floor;
 * - a failed window is retried with backoff until it succeeds, never skipped;
 * - dedup against the persisted seen ids plus the ids in flight; ids count as seen only once acked.
 */
import { recordCount, ResponseTooLargeError } from '@devo-collector/common';
import { backoffDelayMs, sleep } from '../backoff.js';
import type { RawText } from '../client.js';
import { buildBatches } from '../delivery/batch-sink.js';
import { InFlightGate } from '../delivery/inflight-gate.js';
import { SeenIds } from '../state/seen-ids.js';
import { formatPullStart, formatSlotTime } from '../time-format.js';
import {
  DEFAULT_MAX_IN_FLIGHT_BYTES,
  DEFAULT_PULL_RETRY,
  asPullError,
  whenAborted,
  type Puller,
  type PullerOptions,
} from './puller.js';
import { PullerBase } from './puller-base.js';
import { parsedRecord, pullRecord, type PulledRecord } from './pulled-record.js';
import { recordsOf, serviceProfile, type ServiceProfile } from './service-profile.js';
import { SlotQueue } from './slot-queue.js';
import { splitSlot, WindowSizer } from './window-sizer.js';

export interface TimeSlot {
  /** Slot bounds as planned; the cursor moves to `endMs` once the slot is committed. */
  startMs: number;
  endMs: number;
  /** What is asked: `startMs` minus the overlap for the first slot of a live-tail cycle. */
  queryStartMs: number;
}

/** A fetched slot: its records, or its two halves when the response was over the size limit. */
type SlotFetch = { records: PulledRecord[]; halves?: undefined } | { halves: [TimeSlot, TimeSlot] };

interface FreshRecord {
  key: string;
  hash: string;
  /** The record's compact JSON bytes (a view into the response when it came compact). */
  bytes: Buffer;
}

/** Splits [cursor, now) into slots; only the first slot re-reads the overlap. Pure, for tests. */
export function planTimeSlots(p: {
  committedCursorMs: number | null;
  startTimeMs: number;
  nowMs: number;
  windowMs: number;
  overlapMs: number;
}): TimeSlot[] {
  const slots: TimeSlot[] = [];
  let s = p.committedCursorMs ?? p.startTimeMs;
  const windowMs = Math.max(1, p.windowMs);
  while (s < p.nowMs) {
    const e = Math.min(s + windowMs, p.nowMs);
    slots.push({ startMs: s, endMs: e, queryStartMs: s });
    s = e;
  }
  const first = slots[0];
  if (first && p.committedCursorMs !== null) first.queryStartMs = Math.max(p.startTimeMs, first.startMs - p.overlapMs);
  return slots;
}

/**
 * Responses held ahead of delivery, in JSON bytes (held as raw response bytes, see pulled-record.ts).
 * Windows are sized to ~2 MB once the volume is known (window-sizer.ts), so 12 MiB still keeps
 * 4-6 windows in flight: the appliance always has a request to work on while one is processed.
 */
const FETCH_AHEAD_BUDGET_BYTES = 12 * 1024 * 1024;

class TimeSlotPuller extends PullerBase {
  private readonly profile: ServiceProfile;
  private readonly gate: InFlightGate;
  private readonly seen: SeenIds;
  /** Sent, not yet acked: dedups later windows, never persisted. */
  private readonly pendingSeen = new Map<string, string>();
  /** JSON bytes per ms of window in the last window processed (null before the first): sizes how many windows may be fetched ahead. */
  private bytesPerMs: number | null = null;
  private readonly sizer: WindowSizer;
  private commitChain: Promise<void> = Promise.resolve();
  /** The state write carrying the latest commit. */
  private lastWrite: Promise<void> = Promise.resolve();
  private commitFailed: unknown = null;
  /**
   * Until the first cycle completes, what we send may already have been sent by the process that
   * ran before us (its windows in flight when it died): batches go out marked `replay`, and the
   * output drops records its delivery ledger already holds. Not after a start_time reset.
   */
  private replay: boolean;

  constructor(opts: PullerOptions) {
    super(opts, `CollectorDarktracePuller(${opts.inputName}#${opts.inputId},${opts.service.name}#predefined)`);
    this.profile = serviceProfile(opts.service);
    this.replay = !opts.store.startTimeReset;
    this.seen = new SeenIds(opts.service.maxSeenIds, opts.store.data.seen);
    this.sizer = new WindowSizer(opts.service.windowMs);
    // Every write carries the seen ids as of that write (a superset of those of each commit it
    // carries: all acked), copied once per write instead of once per window commit.
    opts.store.beforeWrite((doc) => {
      doc.seen = this.seen.entries();
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
    await Promise.race([this.committed(), sleep(left)]);
  }

  protected async pull(signal: AbortSignal): Promise<void> {
    const period = this.opts.service.requestPeriodMs;
    this.log.info(`Starting data collection every ${Math.round(period / 1000)} seconds`);
    while (!signal.aborted) {
      await this.cycle(signal);
      if (this.commitFailed !== null) return;
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
          e.fetch = this.fetchSlot(e.slot, signal);
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
      const { fresh, dups, maxTimeMs } = this.dedup(records);
      const windowBytes = records.reduce((n, r) => n + r.size, 0);
      this.resize(slot, records.length, windowBytes, queue);
      total += records.length;
      duplicated += dups;
      this.opts.metrics?.receivedRecords(this.service, records.length);
      this.opts.metrics?.removedDuplicates(this.service, dups);
      try {
        await this.deliver(slot, fresh, maxTimeMs, signal);
      } catch {
        return; // aborted while waiting for room: the slot is not committed
      }
      processed += 1;
      if (processed % 12 === 0) this.log.info(`Number of processed time slots so far: ${processed}`);
      i++;
    }
    // The cycle ends when everything it sent is acked and committed (or we are told to stop).
    await Promise.race([this.committed(), whenAborted(signal)]);
    if (signal.aborted || this.commitFailed !== null) return;
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

  /**
   * Fetches one slot, retrying with backoff until it succeeds; rejects only on abort. A response
   * over the size limit would be as large on every retry: the slot comes back as two halves
   * instead, down to the sizer's floor (then it is retried and logged like any failure).
   */
  private async fetchSlot(slot: TimeSlot, signal: AbortSignal): Promise<SlotFetch> {
    const svc = this.opts.service;
    const retry = this.opts.retry ?? DEFAULT_PULL_RETRY;
    for (let attempt = 0; ; attempt++) {
      if (signal.aborted) throw new Error('aborted');
      try {
        const query = this.profile.windowQuery(slot.queryStartMs, slot.endMs);
        // Records are reduced to what dedup and delivery need as they arrive: no parsed window is held.
        const each = (value: unknown, raw: RawText, complete: boolean) => pullRecord(this.profile, value, raw, complete);
        const fields = this.profile.fields ?? undefined;
        const answer = this.opts.client.getRecords
          ? await this.opts.client.getRecords(svc.endpoint, query, { signal, each, ...(fields ? { fields } : {}) })
          : { body: await this.opts.client.get(svc.endpoint, query, { signal }) };
        if ('records' in answer) {
          this.opts.metrics?.pullSucceeded(this.service);
          return { records: answer.records };
        }
        const records = recordsOf(answer.body);
        if (records === null) {
          throw asPullError(new Error(`unexpected response shape from ${svc.endpoint}: ${JSON.stringify(answer.body).slice(0, 200)}`));
        }
        this.opts.metrics?.pullSucceeded(this.service);
        return { records: records.map((r) => parsedRecord(this.profile, r)) };
      } catch (err) {
        if (signal.aborted) throw err;
        const e = asPullError(err);
        this.opts.metrics?.pullError(this.service, e);
        const halves = e instanceof ResponseTooLargeError ? splitSlot(slot, this.sizer.minMs) : null;
        if (halves) {
          this.log.error(`${e.toString()} (time slot >> ${formatSlotTime(slot.startMs)} - ${formatSlotTime(slot.endMs)}); the time slot is split in two`);
          this.sizer.oversize(slot.endMs - slot.queryStartMs);
          return { halves };
        }
        const delay = backoffDelayMs(attempt, retry);
        this.log.error(
          `${e.toString()} (time slot >> ${formatSlotTime(slot.startMs)} - ${formatSlotTime(slot.endMs)}, attempt ${attempt + 1}); the time slot will be retried in ${(delay / 1000).toFixed(1)} seconds`,
        );
        await sleep(delay, signal);
      }
    }
  }

  private dedup(records: PulledRecord[]): { fresh: FreshRecord[]; dups: number; maxTimeMs: number | null } {
    const fresh: FreshRecord[] = [];
    const local = new Map<string, string>();
    let dups = 0;
    let maxTimeMs: number | null = null;
    for (const r of records) {
      // Never trust response order: the max is computed over every record.
      const t = r.timeMs;
      if (t !== null && (maxTimeMs === null || t > maxTimeMs)) maxTimeMs = t;
      const { key, hash } = r;
      const known = local.get(key) ?? this.pendingSeen.get(key) ?? this.seen.get(key);
      if (known === hash) {
        dups += 1;
        continue;
      }
      local.set(key, hash);
      fresh.push({ key, hash, bytes: r.bytes() });
    }
    return { fresh, dups, maxTimeMs };
  }

  private async deliver(slot: TimeSlot, fresh: FreshRecord[], maxTimeMs: number | null, signal: AbortSignal): Promise<void> {
    for (const f of fresh) this.pendingSeen.set(f.key, f.hash);
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
      acks.push(this.opts.sink.send(b).finally(() => this.gate.release(b.bytes)).then(() => this.markSeen(part)));
    }
    const acked = Promise.all(acks);
    this.commitChain = this.commitChain
      .then(() => acked)
      .then(() => this.commit(slot, maxTimeMs))
      .catch((err: unknown) => {
        // Keep the cursor where it is: nothing after this slot may be committed.
        if (this.commitFailed === null) this.log.error(`Could not commit time slot ${formatSlotTime(slot.startMs)}: ${String(err)}`);
        this.commitFailed = err;
        throw err;
      });
    this.commitChain.catch(() => undefined);
  }

  /**
   * Acked ids count as seen at once (later windows dedup against them). They are persisted with
   * the window's commit: if we die before it, the windows pulled again go out marked `replay` and
   * the output's delivery ledger drops what it already holds, so no early (and costly: the whole
   * list is rewritten) write is needed here.
   */
  private markSeen(part: FreshRecord[]): void {
    for (const f of part) {
      this.seen.set(f.key, f.hash);
      if (this.pendingSeen.get(f.key) === f.hash) this.pendingSeen.delete(f.key);
    }
  }

  /**
   * Runs after every batch of the slot was acked, so `markSeen` has already moved each of its
   * records to the seen ids; the store copies them into the document right before the write.
   */
  private async commit(slot: TimeSlot, maxTimeMs: number | null): Promise<void> {
    const written = this.opts.store.update((doc) => {
      doc.cursor_ms = Math.max(doc.cursor_ms ?? slot.endMs, slot.endMs);
      if (maxTimeMs !== null) doc.last_record_time_ms = Math.max(doc.last_record_time_ms ?? maxTimeMs, maxTimeMs);
    });
    // The document moves now, in window order; the disk write is not awaited here: while one write
    // runs, the commits of the next windows ride on the one queued write (the store coalesces and
    // writes the latest document), so many small windows cost a few writes of the seen list
    // instead of one each. The end of a cycle and the stop wait for the last write.
    this.lastWrite = written;
    written.catch((err: unknown) => {
      if (this.commitFailed === null) this.log.error(`Could not commit time slot ${formatSlotTime(slot.startMs)}: ${String(err)}`);
      this.commitFailed = err;
    });
  }

  /** Every commit so far applied and written (never rejects). */
  private committed(): Promise<void> {
    return this.commitChain.then(() => this.lastWrite).catch(() => undefined);
  }
}

export function createTimeSlotPuller(opts: PullerOptions): Puller {
  return new TimeSlotPuller(opts);
}
