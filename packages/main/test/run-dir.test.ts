import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRunDir, pidAlive, removeStaleRunDirs, RUN_DIR_PREFIX } from '../src/run-dir.js';

let tmp: string;
beforeEach(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'run-dir-test-'));
});
afterEach(() => {
  rmSync(tmp, { recursive: true, force: true });
});

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  expect(r.status).toBe(0);
  expect(pidAlive(r.pid as number)).toBe(false);
  return r.pid as number;
}

function runDirWithPid(name: string, pid: string | null): string {
  const dir = path.join(tmp, name);
  mkdirSync(dir, { mode: 0o700 });
  writeFileSync(path.join(dir, 'lane.sock'), '');
  if (pid !== null) writeFileSync(path.join(dir, 'pid'), pid);
  return dir;
}

describe('run directory', () => {
  it('is created 0700 with the pid of its supervisor', () => {
    const dir = createRunDir(tmp);
    expect(path.basename(dir).startsWith(RUN_DIR_PREFIX)).toBe(true);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readFileSync(path.join(dir, 'pid'), 'utf8').trim()).toBe(String(process.pid));
    // Our own (live) directory is never stale.
    expect(removeStaleRunDirs(tmp)).toEqual([]);
    expect(existsSync(dir)).toBe(true);
  });

  it('removes only our directories whose supervisor is gone', () => {
    const dead = runDirWithPid(`${RUN_DIR_PREFIX}dead01`, `${deadPid()}\n`);
    const live = runDirWithPid(`${RUN_DIR_PREFIX}live01`, String(process.ppid));
    const noPid = runDirWithPid(`${RUN_DIR_PREFIX}nopid1`, null);
    const empty = runDirWithPid(`${RUN_DIR_PREFIX}empty1`, ''); // a supervisor starting right now
    const garbage = runDirWithPid(`${RUN_DIR_PREFIX}junk01`, 'not a pid');
    const other = runDirWithPid('something-else', `${deadPid()}`);
    writeFileSync(path.join(tmp, `${RUN_DIR_PREFIX}file01`), `${deadPid()}`);

    expect(removeStaleRunDirs(tmp)).toEqual([dead]);
    expect(existsSync(dead)).toBe(false);
    for (const d of [live, noPid, empty, garbage, other, path.join(tmp, `${RUN_DIR_PREFIX}file01`)]) expect(existsSync(d)).toBe(true);
  });

  it('leaves directories of another user and pids it cannot prove dead', () => {
    const dead = runDirWithPid(`${RUN_DIR_PREFIX}dead02`, String(deadPid()));
    const notOurs = (process.getuid?.() ?? 0) + 1;
    expect(removeStaleRunDirs(tmp, { uid: notOurs })).toEqual([]);
    expect(removeStaleRunDirs(tmp, { isAlive: () => true })).toEqual([]);
    expect(existsSync(dead)).toBe(true);
    expect(removeStaleRunDirs(tmp, { isAlive: () => false })).toEqual([dead]);
  });

  it('does not throw when the temporary directory is missing', () => {
    expect(removeStaleRunDirs(path.join(tmp, 'missing'))).toEqual([]);
  });
});
