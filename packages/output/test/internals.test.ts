import { createLogger, registerSecret } from '@devo-collector/common';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InternalFeed } from '../src/internal-feed.js';
import { MemoryStore } from '../src/spool/memory-store.js';
import { SpoolCore } from '../src/spool/spool-core.js';
import { captureLogs, testLogger } from './helpers/log-capture.js';

let logs: ReturnType<typeof captureLogs>;
beforeEach(() => {
  logs = captureLogs();
});
afterEach(() => logs.stop());

describe('spool group commit', () => {
  it('appends of one tick share one store write (one fsync); acks resolve in order', async () => {
    const store = new MemoryStore();
    const writes: number[] = [];
    const write = store.write.bind(store);
    store.write = async (frames) => {
      writes.push(frames.length);
      await new Promise((r) => setTimeout(r, 5)); // a slow fsync
      return write(frames);
    };
    const spool = new SpoolCore({ name: 'g', store, maxBytes: 1 << 20, logger: testLogger() });
    await spool.open();
    const order: number[] = [];
    const first = Array.from({ length: 100 }, (_, i) => spool.append(Buffer.from(`a${i}`), 1).then(() => order.push(i)));
    await new Promise((r) => setImmediate(r));
    // Arrive while the first group's fsync runs: they form the second group.
    const second = Array.from({ length: 50 }, (_, i) => spool.append(Buffer.from(`b${i}`), 1).then(() => order.push(100 + i)));
    await Promise.all([...first, ...second]);
    expect(writes).toEqual([100, 50]);
    expect(order).toEqual(Array.from({ length: 150 }, (_, i) => i));
    await spool.close();
  });
});

describe('internal feed', () => {
  it('ships records as devo.collectors.out.local.<level> JSON, redacted, without recursion', async () => {
    const shipped: string[] = [];
    const feed = new InternalFeed({
      hostname: 'h',
      collectorName: 'c',
      collectorVersion: '9',
      sinks: () => [
        {
          append: (payload: Buffer) => {
            // What the internal senders log while sending must not come back as internal records.
            createLogger('DevoSender(internal_senders,devo_sender_0)').info('sending internal records');
            createLogger('SomeComponent').info('logged synchronously while appending');
            shipped.push(payload.toString());
            return Promise.resolve();
          },
        },
      ],
    });
    feed.start();
    registerSecret('s3cr3t-token-value');
    createLogger('InputProcessThing').warn('token s3cr3t-token-value rejected');
    createLogger('X').debug('debug is not shipped');
    await feed.flush();
    await feed.flush();
    await feed.stop();
    const lines = shipped.join('').split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^<14>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} h devo\.collectors\.out\.local\.warning: /);
    const body = JSON.parse(lines[0]!.slice(lines[0]!.indexOf(': {') + 2)) as Record<string, string>;
    expect(body).toMatchObject({ msg: 'InputProcessThing -> token ****SANITIZED**** rejected', level: 'WARNING', collector_name: 'c', collector_version: '9' });
    expect(body.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(shipped.join('')).not.toContain('s3cr3t');
  });
});
