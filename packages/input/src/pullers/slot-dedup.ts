/**
 * Dedup of a window's records against the persisted seen ids plus the ids sent and not yet acked
 * (in flight). Ids count as seen only once their batch is acked; they are persisted with the
 * state writes (the store copies `entries()` into each write).
 */
import { SeenIds, type SeenEntry } from '../state/seen-ids.js';
import type { PulledRecord } from './pulled-record.js';

export interface FreshRecord {
  key: string;
  hash: string;
  /** The record's compact JSON bytes (a view into the response when it came compact). */
  bytes: Buffer;
}

export class SlotDedup {
  private readonly seen: SeenIds;
  /** Sent, not yet acked: dedups later windows, never persisted. */
  private readonly pending = new Map<string, string>();

  constructor(maxSeenIds: number, persisted: readonly SeenEntry[]) {
    this.seen = new SeenIds(maxSeenIds, persisted);
  }

  /** Records not seen (with this content) yet; `maxTimeMs` over every record (never trust response order). */
  filter(records: PulledRecord[]): { fresh: FreshRecord[]; dups: number; maxTimeMs: number | null } {
    const fresh: FreshRecord[] = [];
    const local = new Map<string, string>();
    let dups = 0;
    let maxTimeMs: number | null = null;
    for (const r of records) {
      const t = r.timeMs;
      if (t !== null && (maxTimeMs === null || t > maxTimeMs)) maxTimeMs = t;
      const { key, hash } = r;
      const known = local.get(key) ?? this.pending.get(key) ?? this.seen.get(key);
      if (known === hash) {
        dups += 1;
        continue;
      }
      local.set(key, hash);
      fresh.push({ key, hash, bytes: r.bytes() });
    }
    return { fresh, dups, maxTimeMs };
  }

  /** The records are being sent: later and overlapping windows dedup against them. */
  sending(fresh: readonly FreshRecord[]): void {
    for (const f of fresh) this.pending.set(f.key, f.hash);
  }

  /**
   * Their batch was acked (durable downstream): seen from now on, even before the window commits.
   * They are persisted with the window's commit: if we die before it, the windows pulled again go
   * out marked `replay` and the output's delivery ledger drops what it already holds, so no early
   * (and costly: the whole list is rewritten) write is needed here.
   */
  acked(part: readonly FreshRecord[]): void {
    for (const f of part) {
      this.seen.set(f.key, f.hash);
      if (this.pending.get(f.key) === f.hash) this.pending.delete(f.key);
    }
  }

  entries(): SeenEntry[] {
    return this.seen.entries();
  }
}
