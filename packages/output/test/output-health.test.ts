/** How an output's health comes from its groups' spool stats and senders (fakes; the end-to-end cases run against real peers). */
import { describe, expect, it } from 'vitest';
import type { SenderGroup } from '@devo-collector/common';
import { OutputHealthTracker, sameHealth, type GroupHealthInput } from '../src/output-health.js';
import type { SenderHealth } from '../src/senders/types.js';

const MAX = 1024 * 1024;
function group(g: SenderGroup, o: Partial<GroupHealthInput['stats']> = {}, senders: SenderHealth[] = [{ state: 'ok' }]): GroupHealthInput {
  return { group: g, stats: { writeBlocked: null, blockedAppends: 0, pendingBytes: 0, ...o }, maxBytes: MAX, senders };
}
const fine = (): GroupHealthInput[] => [group('standard'), group('lookup'), group('internal')];

describe('OutputHealthTracker', () => {
  it('ok when no group is blocked or stalled', () => {
    expect(new OutputHealthTracker().evaluate('devo_1', fine())).toEqual({ state: 'ok' });
  });

  it('blocked with the spool\'s OutputError id when a spool cannot write', () => {
    const h = new OutputHealthTracker().evaluate('devo_1', [
      group('standard', { writeBlocked: { code: 402, message: 'ENOSPC: no space left on device', sinceMs: 5_000 } }),
      group('lookup'),
      group('internal'),
    ]);
    expect(h).toEqual({
      state: 'blocked',
      reason: { id: 'OutputError(402)', message: 'devo_1 standard_senders: the spool cannot write: ENOSPC: no space left on device', sinceMs: 5_000 },
    });
  });

  it('blocked "spool full" (RuntimeError(514)) while appends wait for space, since the first time it was seen; ok once they stop', () => {
    let now = 10_000;
    const t = new OutputHealthTracker(() => now);
    const full = [group('standard', { blockedAppends: 3, pendingBytes: MAX }), group('lookup'), group('internal')];
    const a = t.evaluate('devo_1', full);
    expect(a.state).toBe('blocked');
    expect(a.reason?.id).toBe('RuntimeError(514)');
    expect(a.reason?.message).toBe(`devo_1 standard_senders: the spool is full (${MAX} of ${MAX} bytes, queue_max_size_in_mb): 3 appends wait for space and the pulls wait`);
    now = 20_000;
    expect(t.evaluate('devo_1', full).reason?.sinceMs).toBe(10_000);
    expect(t.evaluate('devo_1', fine())).toEqual({ state: 'ok' });
    expect(t.evaluate('devo_1', full).reason?.sinceMs).toBe(20_000);
  });

  it('stalled (OutputError(405)) when a sender is stalled; blocked wins over stalled', () => {
    const t = new OutputHealthTracker();
    const stalled: SenderHealth = { state: 'stalled', sinceMs: 7_000, message: 'data waiting and no bytes accepted by the peer for 60 s' };
    const s = t.evaluate('devo_1', [group('standard', {}, [{ state: 'ok' }, stalled]), group('lookup'), group('internal')]);
    expect(s).toEqual({ state: 'stalled', reason: { id: 'OutputError(405)', message: 'devo_1 standard_senders: data waiting and no bytes accepted by the peer for 60 s', sinceMs: 7_000 } });
    const b = t.evaluate('devo_1', [group('standard', {}, [stalled]), group('lookup'), group('internal', { blockedAppends: 1 })]);
    expect(b.state).toBe('blocked');
    expect(b.reason?.message).toMatch(/^devo_1 internal_senders: the spool is full/);
  });
});

describe('sameHealth', () => {
  it('compares states and reason ids, not messages or times', () => {
    const a = { devo_1: { state: 'stalled' as const, reason: { id: 'OutputError(405)', message: 'x', sinceMs: 1 } } };
    const b = { devo_1: { state: 'stalled' as const, reason: { id: 'OutputError(405)', message: 'y', sinceMs: 2 } } };
    expect(sameHealth(a, b)).toBe(true);
    expect(sameHealth(a, { devo_1: { state: 'ok' } })).toBe(false);
    expect(sameHealth({}, { devo_1: { state: 'ok' } })).toBe(false);
  });
});
