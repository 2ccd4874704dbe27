/**
 * lowdb adapter that writes the whole document atomically with owner-only permissions (common's
 * writeFileAtomic: temp file 0600, fsync, rename, fsync the directory). lowdb's own JSONFile
 * (steno) is atomic too but creates files with the process umask, and the state must never be
 * readable by other users (ARCHITECTURE §2, Persistence).
 */
import { chmod, readFile } from 'node:fs/promises';
import { PRIVATE_FILE_MODE, writeFileAtomic } from '@devo-collector/common';
import type { Adapter } from 'lowdb';

/** A state file that exists but cannot be used as it is; `problem` reads after the file name. */
export class StateFileUnusable extends Error {
  constructor(
    readonly filePath: string,
    readonly problem: string,
  ) {
    super(`${filePath} ${problem}`);
  }
}

export class AtomicJsonFileAdapter<T> implements Adapter<T> {
  constructor(readonly filePath: string) {}

  /**
   * null when there is no file; throws StateFileUnusable (never resets anything) when the file
   * exists but cannot be read or is not a JSON document: the caller decides what to tell.
   */
  async read(): Promise<T | null> {
    let text: string;
    try {
      text = await readFile(this.filePath, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return null;
      throw new StateFileUnusable(this.filePath, `cannot be read (${code ?? (err as Error).message})`);
    }
    let doc: T;
    try {
      doc = JSON.parse(text) as T;
    } catch (err) {
      throw new StateFileUnusable(this.filePath, `is corrupt (not valid JSON: ${(err as Error).message})`);
    }
    // Tighten a file created by an older build or copied in by hand.
    try {
      await chmod(this.filePath, PRIVATE_FILE_MODE);
    } catch (err) {
      throw new StateFileUnusable(this.filePath, `cannot be made private to this user (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    return doc;
  }

  async write(data: T): Promise<void> {
    // Compact: the seen list is tens of thousands of pairs, rewritten up to ten times a second
    // during a burst; indenting it doubled the bytes and a third of the time per write.
    await writeFileAtomic(this.filePath, JSON.stringify(data));
  }
}
