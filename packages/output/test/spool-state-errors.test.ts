/**
 * The output's own state: a damaged spool checkpoint or an unreadable delivery ledger stops the
 * start with RuntimeError(502) naming the file; nothing is re-sent or forgotten silently.
 */
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger, RuntimeError } from '@devo-collector/common';
import { FileStore } from '../src/spool/file-store.js';
import { openDeliveryLedger } from '../src/ledger/delivery-ledger.js';

const log = createLogger('test');
const tmp = (): string => mkdtempSync(path.join(os.tmpdir(), 'spool-state-'));

describe('spool checkpoint and ledger', () => {
  for (const [what, text] of [['not JSON', '{"version":1,"seg'], ['a wrong shape', '{"version":1,"segment":"a","offset":0}']] as const) {
    it(`a checkpoint that is ${what} stops the open and stays as it was`, async () => {
      const dir = tmp();
      writeFileSync(path.join(dir, 'checkpoint.json'), text);
      const store = new FileStore({ dir, logger: log });
      const err = await store.recover().then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(RuntimeError);
      expect((err as RuntimeError).code).toBe(502);
      expect((err as RuntimeError).detail).toContain(`The spool checkpoint "${path.join(dir, 'checkpoint.json')}" is corrupt`);
      expect((err as RuntimeError).detail).toContain('Nothing was changed. Restore it from a backup, or remove it');
      expect(readFileSync(path.join(dir, 'checkpoint.json'), 'utf8')).toBe(text);
    });
  }

  it('a ledger file that cannot be read stops the open', () => {
    const dir = tmp();
    mkdirSync(path.join(dir, 'ledger.log')); // EISDIR
    let err: unknown;
    try {
      openDeliveryLedger({ dir, logger: log });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RuntimeError);
    expect(String(err)).toMatch(/^RuntimeError\(502\): The delivery ledger ".*ledger\.log" cannot be read \(EISDIR\)\. Nothing was changed\./);
  });
});
