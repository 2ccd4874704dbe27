/** The state file of a service cannot be written (disk full): the service is failing while it lasts. */
import { describe, expect, it } from 'vitest';
import { PullError } from '@devo-collector/common';
import { ServiceHealthBook } from '../src/health.js';

describe('ServiceHealthBook and a state file that cannot be written', () => {
  it('failing with RuntimeError(520) while blocked (pulls succeeding meanwhile), ok again once written; a pull failure stays the reason', () => {
    let changes = 0;
    let now = 1_000;
    const book = new ServiceHealthBook(() => changes++, () => now);
    book.register('modelbreaches', 1_000);
    book.setupSucceeded('modelbreaches');
    expect(changes).toBe(1);
    const blocked = { code: 520, message: 'cannot write the state file /s/x.json: ENOSPC: no space left on device, write', sinceMs: 900 };
    book.stateWriteBlocked('modelbreaches', blocked);
    expect(changes).toBe(2);
    expect(book.snapshot().modelbreaches).toEqual({ state: 'failing', reason: { id: 'RuntimeError(520)', message: blocked.message, sinceMs: 900 }, lastSuccessMs: 1_000 });
    // A pull succeeds (the document is in memory): still failing, no change reported.
    now = 2_000;
    book.pullSucceeded('modelbreaches');
    expect(changes).toBe(2);
    expect(book.snapshot().modelbreaches?.reason?.id).toBe('RuntimeError(520)');
    expect(book.snapshot().modelbreaches?.lastSuccessMs).toBe(2_000);
    book.stateWriteBlocked('modelbreaches', null);
    expect(changes).toBe(3);
    expect(book.snapshot().modelbreaches).toEqual({ state: 'ok', lastSuccessMs: 2_000 });
    // Pulls failing for two periods take precedence as the reason.
    book.stateWriteBlocked('modelbreaches', blocked);
    book.pullFailed('modelbreaches', new PullError(300, 'HTTP 500'));
    now = 5_000;
    book.pullFailed('modelbreaches', new PullError(300, 'HTTP 500'));
    expect(book.snapshot().modelbreaches?.reason?.id).toBe('PullError(300)');
    book.close();
  });
});
