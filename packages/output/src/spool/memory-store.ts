/** Memory backend (persistence type `memory`, `--no-save-state`): same spool, nothing survives a restart. */
import type { RecoveredStore, SpoolStore, StoredFrame } from './types.js';

export class MemoryStore implements SpoolStore {
  private offset = 0;

  recover(): Promise<RecoveredStore> {
    return Promise.resolve({ frames: [], corruptFrames: 0, quarantinedSegments: 0 });
  }

  write(frames: ReadonlyArray<{ payload: Buffer; messages: number }>, onWritten?: () => void): Promise<StoredFrame[]> {
    onWritten?.();
    // Property order matters: `offset` is read before `end` moves it.
    return Promise.resolve(frames.map(({ payload, messages }) => ({ segment: 0, offset: this.offset, end: (this.offset += payload.length), length: payload.length, messages, payload })));
  }

  read(frames: readonly StoredFrame[]): Promise<Buffer[]> {
    return frames.every((f) => f.payload) ? Promise.resolve(frames.map((f) => f.payload as Buffer)) : Promise.reject(new Error('frame payload missing'));
  }

  /** Nothing survives a restart: nothing to resume, no checkpoint. */
  recordResume(): void {}

  checkpoint(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
