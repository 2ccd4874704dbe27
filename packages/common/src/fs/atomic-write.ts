/**
 * The one atomic file replacement (the input's state documents, the output's spool checkpoint):
 * a temp file created owner-only, written, fsynced, renamed over the target, then the directory
 * fsynced so the rename survives a power cut. A failure removes the temp file (on a full disk each
 * retry would otherwise add one and keep the disk full) and leaves the target as it was.
 */
import { open, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Owner-only: state and checkpoints must never be readable by other users (ARCHITECTURE §2). */
export const PRIVATE_FILE_MODE = 0o600;

let tmpSeq = 0;

/**
 * `tmp`: the temp file's path (a fixed name lets its owner remove a crash's leftover at start);
 * default `<file>.<pid>.<n>.tmp`, unique per write.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, o: { tmp?: string } = {}): Promise<void> {
  const tmp = o.tmp ?? `${file}.${process.pid}.${++tmpSeq}.tmp`;
  try {
    const fh = await open(tmp, 'w', PRIVATE_FILE_MODE);
    try {
      await fh.writeFile(data);
      await fh.chmod(PRIVATE_FILE_MODE); // the umask may have masked the mode given to open()
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw err;
  }
  await fsyncDir(dirname(file));
}

/** Errors of filesystems that cannot fsync a directory at all; the rename is atomic there anyway. */
const DIR_SYNC_UNSUPPORTED = new Set(['EINVAL', 'ENOTSUP', 'EOPNOTSUPP', 'EISDIR', 'EBADF', 'EPERM', 'EACCES']);

/** fsync of a directory (its entries, after a create or a rename); an I/O error (EIO, ENOSPC) throws. */
export async function fsyncDir(dir: string): Promise<void> {
  try {
    const dh = await open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch (err) {
    if (!DIR_SYNC_UNSUPPORTED.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
  }
}
