/** The store fills costly parts of the document once per write, not once per update. */
import { readFile } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { openStateStore } from '../src/state/state-store.js';
import { captureLogs, tempDir } from './helpers.js';

const logs = captureLogs();
afterAll(() => logs.dispose());

describe('state store beforeWrite', () => {
  it('runs right before each write; a burst of updates is one write carrying the latest fill', async () => {
    const store = await openStateStore({ mode: 'filesystem', directory: await tempDir(), inputName: 'd', inputId: '1', service: 'modelbreaches', startTimeText: 'x', version: 1, ownerName: 'P' });
    let fills = 0;
    let acked = 0;
    store.beforeWrite((doc) => {
      fills += 1;
      doc.seen = Array.from({ length: acked }, (_, i) => [`k${i}`, '']);
    });
    const writes: Promise<void>[] = [];
    for (let i = 1; i <= 5; i++) {
      acked = i;
      writes.push(store.update((doc) => void (doc.cursor_ms = i * 1000)));
    }
    await Promise.all(writes);
    // The first update starts a write at once; the next four ride on one queued write.
    expect(fills).toBeLessThanOrEqual(2);
    const onDisk = JSON.parse(await readFile(store.filePath as string, 'utf8')) as { cursor_ms: number; seen: unknown[] };
    expect(onDisk.cursor_ms).toBe(5000);
    expect(onDisk.seen).toHaveLength(5);
    await store.close();
  });
});
