import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createDarktraceClient } from '@devo-collector/darktrace';
import { describe, expect, it } from 'vitest';

const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));

describe('darktrace-sim CLI', () => {
  it('listens, serves signed requests and stops on SIGTERM', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, '--port', '0', '--public-token', 'cli-public', '--private-token', 'cli-private', '--seed', '3', '--breaches-per-hour', '5'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /Darktrace simulator listening on (http:\/\/\S+)/.exec(out);
        if (m?.[1]) resolve(m[1]);
      });
      child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
    });
    const client = createDarktraceClient({ baseUrl: url, publicToken: 'cli-public', privateToken: 'cli-private' });
    const page = await client.get('/modelbreaches', { starttime: Date.now() - 6 * 3_600_000, endtime: Date.now() });
    expect(Array.isArray(page) && page.length > 0).toBe(true);
    await client.close();
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
  });
});
