/**
 * Fetches one window: retried until it succeeds (a failed window is never skipped), after the
 * appliance's Retry-After when it sent one; a response over the size limit comes back as the
 * window's two halves instead (it would be as large on every retry).
 */
import { ResponseTooLargeError, sleep, type Logger } from '@devo-collector/common';
import type { RawText } from '../client.js';
import { formatSlotTime } from '../time-format.js';
import { asPullError, DEFAULT_PULL_RETRY, pullRetryDelayMs, unexpectedShape, type PullerOptions } from './puller.js';
import { parsedRecord, pullRecord, type PulledRecord } from './pulled-record.js';
import { recordsOf, type ServiceProfile } from './service-profile.js';
import type { TimeSlot } from './time-slot.js';
import { splitSlot, type WindowSizer } from './window-sizer.js';

/** A fetched slot: its records (`release`: see getRecords), or its two halves when the response was over the size limit. */
export type SlotFetch = { records: PulledRecord[]; release?: () => void; halves?: undefined } | { halves: [TimeSlot, TimeSlot] };

export class SlotFetcher {
  constructor(
    private readonly opts: Pick<PullerOptions, 'service' | 'client' | 'metrics' | 'retry'>,
    private readonly profile: ServiceProfile,
    private readonly sizer: WindowSizer,
    private readonly log: Logger,
  ) {}

  /** Rejects only on abort. A window already at the sizer's floor is retried and logged like any failure. */
  async fetch(slot: TimeSlot, signal: AbortSignal): Promise<SlotFetch> {
    const svc = this.opts.service;
    const retry = this.opts.retry ?? DEFAULT_PULL_RETRY;
    for (let attempt = 0; ; attempt++) {
      if (signal.aborted) throw new Error('aborted');
      try {
        return await this.once(slot, signal);
      } catch (err) {
        if (signal.aborted) throw err;
        const e = asPullError(err);
        this.opts.metrics?.pullError(svc.name, e);
        const halves = e instanceof ResponseTooLargeError ? splitSlot(slot, this.sizer.minMs) : null;
        if (halves) {
          this.log.error(`${e.toString()} (time slot >> ${formatSlotTime(slot.startMs)} - ${formatSlotTime(slot.endMs)}); the time slot is split in two`);
          this.sizer.oversize(slot.endMs - slot.queryStartMs);
          return { halves };
        }
        const delay = pullRetryDelayMs(attempt, e, retry);
        this.log.error(
          `${e.toString()} (time slot >> ${formatSlotTime(slot.startMs)} - ${formatSlotTime(slot.endMs)}, attempt ${attempt + 1}); the time slot will be retried in ${(delay / 1000).toFixed(1)} seconds`,
        );
        await sleep(delay, signal);
      }
    }
  }

  private async once(slot: TimeSlot, signal: AbortSignal): Promise<{ records: PulledRecord[]; release?: () => void }> {
    const svc = this.opts.service;
    const query = this.profile.windowQuery(slot.queryStartMs, slot.endMs);
    // Records are reduced to what dedup and delivery need as they arrive: no parsed window is held.
    const each = (value: unknown, raw: RawText, complete: boolean) => pullRecord(this.profile, value, raw, complete);
    const fields = this.profile.fields ?? undefined;
    const answer = this.opts.client.getRecords
      ? await this.opts.client.getRecords(svc.endpoint, query, { signal, each, ...(fields ? { fields } : {}) })
      : { body: await this.opts.client.get(svc.endpoint, query, { signal }) };
    if ('records' in answer) {
      this.opts.metrics?.pullSucceeded(svc.name);
      return answer;
    }
    const records = recordsOf(answer.body);
    if (records === null) throw unexpectedShape(svc.endpoint, answer.body);
    this.opts.metrics?.pullSucceeded(svc.name);
    return { records: records.map((r) => parsedRecord(this.profile, r)) };
  }
}
