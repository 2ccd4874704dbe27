/**
 * The node flags and environment the supervisor gives its workers (memory, docs/BENCHMARKS.md):
 * added once, and never over an operator's own setting.
 */
import { describe, expect, it } from 'vitest';
import { workerEnv, workerExecArgv } from '../src/worker-handle.js';

describe('worker flags', () => {
  it('adds --expose-gc, a 2 MiB semi-space and --optimize-for-size to the supervisor flags', () => {
    expect(workerExecArgv(['--import', 'tsx'])).toEqual(['--import', 'tsx', '--expose-gc', '--max-semi-space-size=2', '--optimize-for-size']);
  });

  it('keeps a flag the operator gave on the command line or in NODE_OPTIONS', () => {
    expect(workerExecArgv(['--expose-gc', '--max-semi-space-size=16', '--no-optimize-for-size'])).toEqual(['--expose-gc', '--max-semi-space-size=16', '--no-optimize-for-size']);
    expect(workerExecArgv([], '--max_semi_space_size=8 --expose_gc --optimize_for_size')).toEqual([]);
  });

  it('drops the supervisor-only --lite-mode, --jitless, --no-expose-wasm (the workers need the JIT and WebAssembly)', () => {
    expect(workerExecArgv(['--lite-mode', '--no-expose-wasm', '--import', 'tsx', '--jitless'])).toEqual(['--import', 'tsx', '--expose-gc', '--max-semi-space-size=2', '--optimize-for-size']);
  });

  it('fixes the malloc mmap threshold unless the operator set one', () => {
    expect(workerEnv({})).toEqual({ MALLOC_MMAP_THRESHOLD_: '131072' });
    expect(workerEnv({ MALLOC_MMAP_THRESHOLD_: '65536' })).toEqual({});
  });
});
