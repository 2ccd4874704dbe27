/**
 * A state file that exists but cannot be used stops the open with RuntimeError(501): the message
 * names the absolute file, what is wrong and what removing it means; the file is left as it was.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RuntimeError } from '@devo-collector/common';
import { openStateStore, stateFileName, type StateStoreOptions } from '../src/state/state-store.js';
import { tempDir } from './helpers.js';

async function opts(o: Partial<StateStoreOptions> = {}): Promise<StateStoreOptions> {
  return {
    mode: 'filesystem', directory: await tempDir('state-corrupt-'), inputName: 'darktrace', inputId: '7', service: 'modelbreaches',
    startTimeText: '2024-01-01T00:00:00', version: 1, ownerName: 'Test', ...o,
  };
}

async function failure(o: StateStoreOptions): Promise<RuntimeError> {
  const err = await openStateStore(o).then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(RuntimeError);
  expect((err as RuntimeError).code).toBe(501);
  return err as RuntimeError;
}

describe('corrupt or unreadable state', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['truncated JSON', '{"persistence_version":1,"cursor_ms":1', /is corrupt \(not valid JSON: /],
    ['a JSON array', '[1,2]', /is not a state document \(a JSON object\)/],
    ['a wrong cursor', '{"persistence_version":1,"cursor_ms":"soon"}', /has a cursor_ms that is not a number/],
    ['an empty file', '', /is corrupt \(not valid JSON: /],
  ];
  for (const [what, text, re] of cases) {
    it(`stops on ${what} and leaves the file untouched`, async () => {
      const o = await opts();
      mkdirSync(o.directory, { recursive: true });
      const file = join(o.directory, stateFileName('darktrace', '7', 'modelbreaches'));
      writeFileSync(file, text, { mode: 0o600 });
      const before = statSync(file).mtimeMs;
      const err = await failure(o);
      expect(err.detail).toMatch(re);
      expect(err.detail).toContain(`The state file "${file}"`);
      expect(err.detail).toContain('Nothing was changed. Restore it from a backup, or remove it');
      expect(err.detail).toContain('collects again from start_time_in_utc_format (2024-01-01T00:00:00)');
      expect(readFileSync(file, 'utf8')).toBe(text);
      expect(statSync(file).mtimeMs).toBe(before);
    });
  }

  it('stops on a file that cannot be read, and says what removing means for each kind of service', async () => {
    const o = await opts({ service: 'status', startTimeText: null });
    mkdirSync(join(o.directory, stateFileName('darktrace', '7', 'status')), { recursive: true }); // EISDIR
    const err = await failure(o);
    expect(err.detail).toMatch(/cannot be read \(EISDIR\)/);
    expect(err.detail).toContain('the service then takes its next snapshot at once');
    const noStart = await opts({ startTimeText: '' });
    mkdirSync(noStart.directory, { recursive: true });
    writeFileSync(join(noStart.directory, stateFileName('darktrace', '7', 'modelbreaches')), '{');
    expect((await failure(noStart)).detail).toContain('starts one window before now (no start_time_in_utc_format is set)');
  });
});
