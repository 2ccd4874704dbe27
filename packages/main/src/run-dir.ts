/**
 * MainProcess's private run directory (`$TMPDIR/devo-collector-XXXXXX`, 0700): it holds the batch
 * lane's Unix socket. A stop removes it; a supervisor killed with -9 cannot, so every start first
 * removes the run directories that supervisors of ours which are gone left behind. Each directory
 * records its supervisor's pid (`pid`) for that: a directory we cannot prove dead (another user's,
 * no or unreadable pid file, a live pid) is left alone.
 */
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const RUN_DIR_PREFIX = 'devo-collector-';
const PID_FILE = 'pid';

/** Creates a new run directory (0700, by mkdtemp) that records this process's pid. */
export function createRunDir(tmpDir: string = os.tmpdir()): string {
  const dir = mkdtempSync(path.join(tmpDir, RUN_DIR_PREFIX));
  writeFileSync(path.join(dir, PID_FILE), `${process.pid}\n`, { mode: 0o600 });
  return dir;
}

/** True if a process with this pid exists (EPERM: it exists, it is just not ours). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

interface StaleRunDirOptions {
  /** Only directories owned by this uid are considered (default: ours). */
  uid?: number;
  isAlive?: (pid: number) => boolean;
}

/**
 * Removes `<tmpDir>/devo-collector-*` directories owned by us whose recorded supervisor pid is no
 * longer alive; returns the removed paths. Never throws: a leftover directory is only clutter.
 */
export function removeStaleRunDirs(tmpDir: string = os.tmpdir(), o: StaleRunDirOptions = {}): string[] {
  const uid = o.uid ?? process.getuid?.();
  const isAlive = o.isAlive ?? pidAlive;
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(tmpDir);
  } catch {
    return removed;
  }
  for (const name of names) {
    if (!name.startsWith(RUN_DIR_PREFIX)) continue;
    const dir = path.join(tmpDir, name);
    try {
      const st = lstatSync(dir);
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
      const pidFile = path.join(dir, PID_FILE);
      if (!lstatSync(pidFile).isFile()) continue;
      const text = readFileSync(pidFile, 'utf8').trim();
      const pid = Number(text);
      // A pid file being written by a supervisor that is starting right now reads as empty: skip.
      if (!/^\d+$/.test(text) || pid <= 0 || pid === process.pid || isAlive(pid)) continue;
      rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch {
      // No pid file (a version before it, or not ours), a race with another start: leave it.
    }
  }
  return removed;
}
