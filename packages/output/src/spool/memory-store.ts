/** Memory backend (persistence type `memory`, `--no-save-state`): same spool, nothing survives a restart. */
import type { SpoolPosition } from './resume-record.js';
import type { RecoveredStore, SpoolStore, StoredFrame } from './types.js';

export class MemoryStore implements SpoolStore {
  private offset = 0;

  recover(): Promise<RecoveredStore> {
    return Promise.resolve({ frames: [], corruptFrames: 0, quarantinedSegments: 0 });
  }

  write(frames: ReadonlyArray<{ payload: Buffer; messages: number }>, onWritten?: () => void): Promise<StoredFrame[]> {
    onWritten?.();
    return Promise.resolve(
      frames.map((f) => {
        const s: StoredFrame = { segment: 0, offset: this.offset, end: this.offset + f.payload.length, length: f.payload.length, messages: f.messages, payload: f.payload };
        this.offset = s.end;
        return s;
      }),
    );
  }

  read(frames: readonly StoredFrame[]): Promise<Buffer[]> {
    return frames.every((f) => f.payload)
      ? Promise.resolve(frames.map((f) => f.payload as Buffer))
      : Promise.reject(new Error('frame payload missing'));
  }

  recordResume(_pos: SpoolPosition): void {
    // Nothing survives a restart: nothing to resume.
  }

  checkpoint(_settled: StoredFrame | null): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
