/** `outputs.<name>.config.compression` (gzip | none) and the level from `globals.devo_sender_compression_level`: ids 66, 67. */
import { describe, expect, it } from 'vitest';
import type { InitVariablesError } from '../src/index.js';
import { compileIn, configWorkspace, initError, type Dict } from './helpers.js';

const cwd = configWorkspace('cfg-gzip-');
const DEVO = { address: 'collector-eu.devo.io', chain: 'chain.crt', cert: 'domain.crt', key: 'domain.key' };

function compile(outputs: Dict, globals: Dict = {}) {
  const cfg = {
    globals: { id: '1', name: 'dt', ...globals },
    outputs,
    inputs: { darktrace: { id: '12345', credentials: { public_token: 'PUB-0123456789', private_token: 'PRIV-0123456789', instance: 'dt.example.com' }, services: { status: {} } } },
  };
  return compileIn(cwd, cfg);
}

const error = (outputs: Dict, globals: Dict = {}): InitVariablesError => initError(() => compile(outputs, globals));

describe('outputs.<name>.config.compression', () => {
  it('defaults to none; gzip on devo_platform and relay (inside config or flat), level 6 or the global', () => {
    const c = compile({
      devo_1: { type: 'devo_platform', config: { ...DEVO, compression: 'gzip' } },
      relay_1: { type: 'relay', address: '10.0.0.1', compression: 'gzip' },
      relay_2: { type: 'relay', config: { address: '10.0.0.2', compression: 'none' } },
      plain_1: { type: 'syslog', config: { address: '10.0.0.3' } },
    });
    expect(c.outputs.map((o) => [o.name, o.compression, o.compressionLevel])).toEqual([
      ['devo_1', 'gzip', 6],
      ['relay_1', 'gzip', 6],
      ['relay_2', 'none', 6],
      ['plain_1', 'none', 6],
    ]);
    const nine = compile({ devo_1: { type: 'devo_platform', config: { ...DEVO, compression: 'gzip' } } }, { devo_sender_compression_level: 9 });
    expect(nine.outputs[0]!.compressionLevel).toBe(9);
  });

  it('InitVariablesError(66): an unknown value, or gzip where the peer cannot inflate it (syslog, console)', () => {
    const bad = error({ devo_1: { type: 'devo_platform', config: { ...DEVO, compression: 'zstd' } } });
    expect(bad.code).toBe(66);
    expect(bad.toString()).toBe('InitVariablesError(66): outputs.devo_1.config.compression must be gzip or none, got "zstd"');
    for (const type of ['syslog', 'console']) {
      const e = error({ out_1: { type, config: { address: '10.0.0.1', compression: 'gzip' } } });
      expect(e.code).toBe(66);
      expect(e.detail).toBe(`outputs.out_1.config.compression: gzip is only for devo_platform and relay outputs (a ${type} output's peer cannot inflate it)`);
    }
    expect(error({ devo_1: { type: 'devo_platform', config: { ...DEVO, compression: true } } }).code).toBe(66);
  });

  it('InitVariablesError(67): gzip with octet_counting', () => {
    const e = error({ relay_1: { type: 'relay', config: { address: '10.0.0.1', compression: 'gzip', octet_counting: true } } });
    expect(e.code).toBe(67);
    expect(e.detail).toMatch(/^outputs\.relay_1\.config\.compression: gzip and octet_counting: true exclude each other/);
  });

  it('a bad level is the globals schema error (id 50), not silently the default', () => {
    const e = error({ devo_1: { type: 'devo_platform', config: { ...DEVO, compression: 'gzip' } } }, { devo_sender_compression_level: 12 });
    expect(e.code).toBe(50);
    expect(e.detail).toMatch(/globals\.devo_sender_compression_level must be <= 9/);
  });
});
