/** Development sink: prints each record as `<tag> <json>` and acknowledges at once. */
import { recordTexts, type EventBatch } from '@devo-collector/common';
import type { BatchSink } from './batch-sink.js';

export function createConsoleSink(write: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): BatchSink {
  return {
    send(batch: EventBatch): Promise<void> {
      for (const r of recordTexts(batch)) write(`${batch.tag} ${r}`);
      return Promise.resolve();
    },
  };
}
