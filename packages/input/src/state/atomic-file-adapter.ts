/**
 * lowdb adapter that writes the whole document atomically with owner-only permissions:
 * write a temp file created 0600, fsync it, rename over the target, fsync the directory.
 * lowdb's own JSONFile (steno) is atomic too but creates files with the process umask, and the
 * state must never be readable by other users (ARCHITECTURE §2, Persistence).
 */
import { open, readFile, rename, rm, chmod } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Adapter } from 'lowdb';

export const STATE_FILE_MODE = 0o600;

let tmpSeq = 0;

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
      await chmod(this.filePath, STATE_FILE_MODE);
    } catch (err) {
      throw new StateFileUnusable(this.filePath, `cannot be made private to this user (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
    return doc;
  }

  async write(data: T): Promise<void> {
    const tmp = `${this.filePath}.${process.pid}.${++tmpSeq}.tmp`;
    try {
      const fh = await open(tmp, 'w', STATE_FILE_MODE);
      try {
        // Compact: the seen list is tens of thousands of pairs, rewritten up to ten times a second
        // during a burst; indenting it doubled the bytes and a third of the time per write.
        await fh.writeFile(JSON.stringify(data), 'utf8');
        await fh.chmod(STATE_FILE_MODE); // the umask may have masked `mode` in open()
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.filePath);
    } catch (err) {
      // A failed write (a full disk: ENOSPC) must not leave its partial temp file behind: each
      // retry would add one and keep the disk full. The target is untouched (the old document).
      await rm(tmp, { force: true }).catch(() => undefined);
      throw err;
    }
    await fsyncDir(dirname(this.filePath));
  }
}

async function fsyncDir(dir: string): Promise<void> {
  try {
    const dh = await open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic there.
  }
}
