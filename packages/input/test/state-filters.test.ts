/**
 * A changed score filter keeps the persisted cursor and seen ids (unlike start_time) and says so
 * in one WARNING; a first start, an unchanged filter or a start_time reset says nothing.
 */
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { openStateStore } from '../src/state/state-store.js';
import { captureLogs, tempDir } from './helpers.js';

const logs = captureLogs();
afterAll(() => logs.dispose());
beforeEach(() => void logs.lines.splice(0));

const open = (directory: string, filtersText: string | undefined, startTimeText = '2024-01-01T00:00:00') =>
  openStateStore({ mode: 'filesystem', directory, inputName: 'darktrace', inputId: '1', service: 'modelbreaches', startTimeText, filtersText, version: 1, ownerName: 'P' });
const warnings = () => logs.lines.filter((l) => l.startsWith('WARN') && l.includes('score filters changed'));

describe('state store and score filters', () => {
  it('keeps cursor and seen ids across a filter change, logs it once, persists the new filter', async () => {
    const dir = await tempDir();
    const a = await open(dir, 'minscore=0.6');
    expect(warnings()).toEqual([]);
    await a.update((d) => {
      d.cursor_ms = 1_700_000_000_000;
      d.seen = [['101', ''], ['102', '']];
    });
    await a.close();

    const same = await open(dir, 'minscore=0.6');
    await same.close();
    expect(warnings()).toEqual([]);

    const b = await open(dir, 'minscore=0.3');
    expect(b.startTimeReset).toBe(false);
    expect(b.data.cursor_ms).toBe(1_700_000_000_000);
    expect(b.data.seen).toEqual([['101', ''], ['102', '']]);
    expect(b.data.filters).toBe('minscore=0.3');
    expect(warnings()).toHaveLength(1);
    expect(warnings()[0]).toContain('previous_value: "minscore=0.6", new_value: "minscore=0.3"');
    expect(warnings()[0]).toContain('records of already collected windows that the previous filters excluded are not fetched');
    await b.close();

    // Removing the filter is a change too ("none").
    const c = await open(dir, '');
    expect(warnings()[1]).toContain('previous_value: "minscore=0.3", new_value: "none"');
    expect(c.data.cursor_ms).toBe(1_700_000_000_000);
    await c.close();
  });

  it('a state written before filters existed means "no filter"; a start_time reset logs no filter change', async () => {
    const dir = await tempDir();
    const old = await open(dir, undefined);
    await old.update((d) => void (d.cursor_ms = 5));
    await old.close();
    const none = await open(dir, '');
    expect(warnings()).toEqual([]);
    await none.close();
    const reset = await open(dir, 'minscore=0.9', '2025-01-01T00:00:00');
    expect(reset.startTimeReset).toBe(true);
    expect(reset.data.cursor_ms).toBeNull();
    expect(reset.data.filters).toBe('minscore=0.9');
    expect(warnings()).toEqual([]);
    await reset.close();
  });
});
