import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openStateStore, STATE_WRITE_SPACING_MS } from '../src/state/state-store.js';
import { tempDir } from './helpers.js';

describe('state store write spacing', () => {
  it('a burst of updates shares one write, at most one write start per spacing; close flushes at once', async () => {
    const dir = await tempDir();
    const store = await openStateStore({ mode: 'filesystem', directory: dir, inputName: 'd', inputId: '1', service: 'modelbreaches', startTimeText: 'x', version: 1, ownerName: 'P' });
    let writes = 0;
    store.beforeWrite(() => void writes++);
    await store.update((d) => void (d.cursor_ms = 1));
    const first = Date.now();
    expect(writes).toBe(1);
    const burst: Promise<void>[] = [];
    for (let i = 2; i <= 6; i++) burst.push(store.update((d) => void (d.cursor_ms = i)));
    await Promise.all(burst);
    expect(writes).toBe(2); // the five commits rode on one write
    expect(Date.now() - first).toBeGreaterThanOrEqual(STATE_WRITE_SPACING_MS - 50);
    const file = store.filePath as string;
    expect((JSON.parse(readFileSync(file, 'utf8')) as { cursor_ms: number }).cursor_ms).toBe(6);

    void store.update((d) => void (d.cursor_ms = 7)).catch(() => undefined);
    const t0 = Date.now();
    await store.close();
    expect(Date.now() - t0).toBeLessThan(STATE_WRITE_SPACING_MS - 100);
    expect((JSON.parse(readFileSync(file, 'utf8')) as { cursor_ms: number }).cursor_ms).toBe(7);
  });
});
