/**
 * Durable FIFO per output and sender group (`<persistence dir>/spool/<output>/<group>/`), or an
 * in-memory one with the same interface and the same byte bound when persistence is `memory`.
 * See spool/frame-codec.ts for the on-disk frame layout and spool/spool-core.ts for the semantics.
 */
import path from 'node:path';
import { FileStore } from './spool/file-store.js';
import { MemoryStore } from './spool/memory-store.js';
import { SpoolCore } from './spool/spool-core.js';
import type { RecoveryReport, Spool, SpoolCoreOptions } from './spool/types.js';

export type { RecoveryReport, Spool, SpoolFrame, SpoolStats } from './spool/types.js';

export interface SpoolOptions extends Omit<SpoolCoreOptions, 'store'> {
  /** `filesystem`: under `dir`; `memory`: nothing on disk. */
  type: 'filesystem' | 'memory';
  /** Spool directory (filesystem only), e.g. spoolDir(persistenceDir, 'devo_1', 'standard'). */
  dir?: string;
  segmentMaxBytes?: number;
}

export function spoolDir(persistenceDir: string, output: string, group: string): string {
  return path.join(persistenceDir, 'spool', output, group);
}

/** Opens (and recovers) a spool. */
export async function openSpool(opts: SpoolOptions): Promise<{ spool: Spool; recovery: RecoveryReport }> {
  if (opts.type === 'filesystem' && !opts.dir) throw new Error('a filesystem spool needs a directory');
  const spool = new SpoolCore({ ...opts, store: opts.type === 'filesystem' ? new FileStore({ ...opts, dir: opts.dir as string }) : new MemoryStore() });
  return { spool, recovery: await spool.open() };
}
