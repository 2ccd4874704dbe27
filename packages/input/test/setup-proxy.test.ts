/** Setup retries for proxy failures: an unreachable proxy (106) backs off like a network error, a refusal (104/105) retries slowly. */
import { afterAll, describe, expect, it } from 'vitest';
import { SetupError } from '@devo-collector/common';
import type { DarktraceApi } from '../src/client.js';
import { createServiceSetup } from '../src/setup/service-setup.js';
import { makeServiceConfig } from '../src/test-config.js';
import { captureLogs } from './helpers.js';

const logs = captureLogs();
afterAll(() => logs.dispose());

function setupFailingWith(errors: SetupError[]) {
  let attempts = 0;
  const api: DarktraceApi = {
    get: () => Promise.reject(new Error('unused')),
    close: () => Promise.resolve(),
    checkCredentials: () => {
      const e = errors[attempts++];
      return e ? Promise.reject(e) : Promise.resolve();
    },
  };
  return createServiceSetup({
    inputName: 'darktrace',
    inputId: '1',
    service: makeServiceConfig('status', { startTimeMs: 0 }),
    client: api,
    moduleName: 'StatelessServicePuller',
    networkRetry: { baseMs: 5, capMs: 10 },
    slowRetryMs: 3_600_000,
  });
}

describe('setup behind a proxy', () => {
  it('SetupError(106) is retried with the network backoff', async () => {
    const down = new SetupError(106, 'The proxy is unreachable: the proxy 127.0.0.1:3128 cannot be reached (ECONNREFUSED) on /status');
    const ok = await setupFailingWith([down, down]).runUntilReady(new AbortController().signal);
    expect(ok).toBe(true);
    expect(logs.lines.filter((l) => l.includes('SetupError(106)'))).toHaveLength(2);
  });

  it.each([104, 105])('SetupError(%i) waits the slow retry', async (id) => {
    const ac = new AbortController();
    const setup = setupFailingWith([new SetupError(id, `proxy problem ${id}`)]);
    const done = setup.runUntilReady(ac.signal, () => setTimeout(() => ac.abort(), 50));
    expect(await done).toBe(false);
    expect(logs.lines.some((l) => l.includes(`SetupError(${id}): proxy problem ${id}`))).toBe(true);
    expect(logs.lines.at(-1)).toMatch(/Setup will be retried in 3600\.0 seconds$/);
  });
});
