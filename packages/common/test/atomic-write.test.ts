import { mkdir, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fsyncDir, PRIVATE_FILE_MODE, writeFileAtomic } from '../src/index.js';

describe('writeFileAtomic', () => {
  it('replaces the file whole, owner-only even under a permissive umask, and leaves no temp file', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'atomic-'));
    const file = path.join(dir, 'doc.json');
    await writeFile(file, 'old', { mode: 0o644 });
    const umask = process.umask(0);
    try {
      await writeFileAtomic(file, '{"a":1}');
    } finally {
      process.umask(umask);
    }
    expect(await readFile(file, 'utf8')).toBe('{"a":1}');
    expect((await stat(file)).mode & 0o777).toBe(PRIVATE_FILE_MODE);
    expect(await readdir(dir)).toEqual(['doc.json']);
  });

  it('a failed write leaves the target as it was and removes its temp file', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'atomic-'));
    // A rename cannot replace a non-empty directory: the write fails after the temp file was written.
    const target = path.join(dir, 'sub');
    await mkdir(path.join(target, 'x'), { recursive: true });
    await expect(writeFileAtomic(target, 'new', { tmp: path.join(dir, 'fixed.tmp') })).rejects.toThrow();
    expect(await readdir(dir)).toEqual(['sub']);
    expect(await readdir(target)).toEqual(['x']);
  });

  it('fsyncDir syncs a directory and throws on a real error', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'atomic-'));
    await expect(fsyncDir(dir)).resolves.toBeUndefined();
    await expect(fsyncDir(path.join(dir, 'missing'))).rejects.toThrow(/ENOENT/);
  });
});
