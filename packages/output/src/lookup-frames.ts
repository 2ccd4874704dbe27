/**
 * A `lookup` group batch as spool frames: its record is a LookupJob (common lookup-job.ts), turned
 * into devo-sdk's lines here, per output (the syslog host name and framing are the output's). The
 * lines of one job keep their order in the spool: START first, END last (lookup_senders has one
 * sender, see sender-manager.ts, so they also reach Devo in that order).
 */
import { parseLookupJob, recordTexts, type EventBatch } from '@devo-collector/common';
import { cutFrames, frameOctetCounted, type FormattedFrame } from './format.js';
import { lookupJobLines } from './lookup-format.js';

export function formatLookupFrames(
  batch: Pick<EventBatch, 'data' | 'bounds'>,
  hostname: string,
  octetCounting: boolean,
  maxFrameBytes: number,
): FormattedFrame[] {
  const lines = recordTexts(batch).flatMap((text) => lookupJobLines(parseLookupJob(text), hostname));
  const encoded = lines.map((l) => (octetCounting ? frameOctetCounted(l) : Buffer.from(l, 'utf8')));
  return cutFrames(encoded.map((b) => b.length), maxFrameBytes, (all, off, j) => off + (encoded[j] as Buffer).copy(all, off));
}
