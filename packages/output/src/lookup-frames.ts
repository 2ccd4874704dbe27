/**
 * A `lookup` group batch as spool frames: its record is a LookupJob (common lookup-job.ts), turned
 * into devo-sdk's lines here, per output (the syslog host name and framing are the output's). The
 * lines of one job keep their order in the spool: START first, END last (lookup_senders has one
 * sender, see sender-manager.ts, so they also reach Devo in that order).
 */
import { parseLookupJob, recordTexts, type EventBatch } from '@devo-collector/common';
import { frameOctetCounted, type FormattedFrame } from './format.js';
import { lookupJobLines } from './lookup-format.js';

export function formatLookupFrames(
  batch: Pick<EventBatch, 'data' | 'bounds'>,
  hostname: string,
  octetCounting: boolean,
  maxFrameBytes: number,
): FormattedFrame[] {
  const lines = recordTexts(batch).flatMap((text) => lookupJobLines(parseLookupJob(text), hostname));
  const encoded = lines.map((l) => (octetCounting ? frameOctetCounted(l) : Buffer.from(l, 'utf8')));
  const frames: FormattedFrame[] = [];
  let run: Buffer[] = [];
  let bytes = 0;
  for (const b of encoded) {
    if (run.length > 0 && bytes + b.length > maxFrameBytes) {
      frames.push({ payload: Buffer.concat(run, bytes), messages: run.length });
      run = [];
      bytes = 0;
    }
    run.push(b);
    bytes += b.length;
  }
  if (run.length > 0) frames.push({ payload: Buffer.concat(run, bytes), messages: run.length });
  return frames;
}
