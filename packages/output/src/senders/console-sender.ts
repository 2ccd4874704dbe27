/**
 * console output (development, demo): one JSON line per message on stdout,
 * `{"message_timestamp","message_tag","message_content"}` like the vendor's console sender.
 */
import type { Writable } from 'node:stream';
import { sleep, type Logger } from '@devo-collector/common';
import { parseDevoLine, splitFrameLines } from '../format.js';
import type { Spool, SpoolFrame } from '../spool.js';
import { nextFrame, type Sender, type SenderCounters } from './types.js';

export interface ConsoleSenderOptions {
  name: string;
  spool: Spool;
  logger: Logger;
  /** Default process.stdout. */
  stream?: Writable;
}

export function createConsoleSender(opts: ConsoleSenderOptions): Sender {
  const out = opts.stream ?? process.stdout;
  const abort = new AbortController();
  const count: SenderCounters = { messages: 0, bytes: 0, writeMs: 0 };
  let loop: Promise<void> | null = null;

  const writeLine = (text: string): Promise<void> =>
    new Promise((resolve) => {
      if (out.write(text)) resolve();
      else out.once('drain', resolve);
    });

  async function run(): Promise<void> {
    for (let frame: SpoolFrame | null; (frame = await nextFrame(opts.spool, abort.signal)); ) {
      const started = Date.now();
      let text = '';
      for (const line of splitFrameLines(frame.payload)) {
        const p = parseDevoLine(line);
        text += `${JSON.stringify({
          message_timestamp: p?.date ?? null,
          message_tag: p?.tag ?? null,
          message_content: p ? p.message : line.replace(/\n$/, ''),
        })}\n`;
      }
      await writeLine(text);
      opts.spool.settle(frame.seq);
      count.messages += frame.messages;
      count.bytes += frame.payload.length;
      count.writeMs += Date.now() - started;
    }
  }

  return {
    name: opts.name,
    start() {
      if (loop) return;
      loop = run();
    },
    async stop(deadlineAtMs) {
      abort.abort();
      if (loop) await Promise.race([loop, sleep(Math.max(0, deadlineAtMs - Date.now()))]);
    },
    status: () => ({ internal_queue_size: 0, is_connection_open: true }),
    counters: () => ({ ...count }),
    health: () => ({ state: 'ok' }),
  };
}
