/**
 * Health of one output from its sender groups (ARCHITECTURE "Readiness tells the truth"):
 * - blocked: a spool cannot write (`SpoolStats.writeBlocked`, its OutputError id), or is full
 *   (appends wait for space: back-pressure, the pulls wait; RuntimeError(514));
 * - stalled: a sender has data waiting and the peer accepted no bytes for the stall bound
 *   (`Sender.health()`, OutputError(405));
 * - ok otherwise. The worst condition of any group wins (blocked over stalled), in group order.
 */
import { errorId, type HealthReason, type OutputHealth, type SenderGroup } from '@devo-collector/common';
import type { SenderHealth } from './senders/types.js';
import type { SpoolStats } from './spool/types.js';
import { GROUP_NAME } from './sender-manager.js';

/** Documented in docs/errors.md. */
const SPOOL_FULL_ID = 'RuntimeError(514)';
const STALLED_ID = 'OutputError(405)';

export interface GroupHealthInput {
  group: SenderGroup;
  stats: Pick<SpoolStats, 'writeBlocked' | 'blockedAppends' | 'pendingBytes'>;
  maxBytes: number;
  senders: readonly SenderHealth[];
}

export class OutputHealthTracker {
  /** When each `<output>.<group>` spool was first seen full (the spool keeps no such time). */
  private readonly fullSince = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  evaluate(output: string, groups: readonly GroupHealthInput[]): OutputHealth {
    let stalled: HealthReason | null = null;
    let blocked: HealthReason | null = null;
    for (const g of groups) {
      const key = `${output}.${g.group}`;
      const where = `${output} ${GROUP_NAME[g.group]}`;
      const wb = g.stats.writeBlocked;
      if (wb && !blocked) {
        blocked = { id: errorId({ name: 'OutputError', code: wb.code }), message: `${where}: the spool cannot write: ${wb.message}`, sinceMs: wb.sinceMs };
      }
      if (g.stats.blockedAppends > 0) {
        const since = this.fullSince.get(key) ?? this.now();
        this.fullSince.set(key, since);
        blocked ??= {
          id: SPOOL_FULL_ID,
          message: `${where}: the spool is full (${g.stats.pendingBytes} of ${g.maxBytes} bytes, queue_max_size_in_mb): ${g.stats.blockedAppends} appends wait for space and the pulls wait`,
          sinceMs: since,
        };
      } else {
        this.fullSince.delete(key);
      }
      for (const s of g.senders) {
        if (s.state === 'stalled' && !stalled) stalled = { id: STALLED_ID, message: `${where}: ${s.message}`, sinceMs: s.sinceMs };
      }
    }
    if (blocked) return { state: 'blocked', reason: blocked };
    if (stalled) return { state: 'stalled', reason: stalled };
    return { state: 'ok' };
  }
}

/** Same state and reason id: nothing an operator or a gauge would see changed. */
export function sameHealth(a: Record<string, OutputHealth>, b: Record<string, OutputHealth>): boolean {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if (a[k]?.state !== b[k]?.state || a[k]?.reason?.id !== b[k]?.reason?.id) return false;
  return true;
}
