import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { openSpool } from '../src/spool.js';
import { createTcpSender } from '../src/senders/tcp-sender.js';
import { outputConfig } from './helpers/config.js';
import { testLogger } from './helpers/log-capture.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const FRAME_BYTES = 512 * 1024;
const FRAMES = 40;

/** A TCP receiver that does not read for `stallMs` after accepting, so the sender meets back-pressure. */
async function stallingReceiver(stallMs: number): Promise<{ port: number; bytes: () => number; stop: () => Promise<void> }> {
  let bytes = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.pause();
    setTimeout(() => s.resume(), stallMs).unref();
    s.on('data', (d: Buffer) => (bytes += d.length));
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    bytes: () => bytes,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('stream sender memory', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('keeps no payload once it is in the kernel, even after back-pressure waits (the connection stays open)', async () => {
    const rx = await stallingReceiver(1_500);
    cleanups.push(rx.stop);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sender-mem-'));
    const { spool } = await openSpool({ type: 'filesystem', dir, name: 's', maxBytes: 1 << 30, memoryBytes: 1 << 30, logger: testLogger('Spool') });
    cleanups.push(() => spool.close());
    const refs: Array<WeakRef<Buffer>> = [];
    for (let i = 0; i < FRAMES; i++) {
      const payload = Buffer.alloc(FRAME_BYTES, 0x61 + (i % 26));
      payload[FRAME_BYTES - 1] = 0x0a;
      refs.push(new WeakRef(payload));
      await spool.append(payload, 1);
    }
    // settleMs far beyond the test: no frame settles, the connection stays open throughout.
    const sender = createTcpSender({ name: 'DevoSender(standard_senders,devo_sender_0)', output: outputConfig({ port: rx.port }), spool, logger: testLogger(), settleMs: 60_000 });
    sender.start();
    cleanups.push(() => sender.stop(Date.now() + 1_000));
    const until = Date.now() + 20_000;
    while (rx.bytes() < FRAMES * FRAME_BYTES && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    expect(rx.bytes()).toBe(FRAMES * FRAME_BYTES);
    expect(spool.stats()).toMatchObject({ cachedBytes: 0, pendingFrames: FRAMES });
    expect(sender.status().is_connection_open).toBe(true);
    await new Promise((r) => setTimeout(r, 20));
    gc();
    await new Promise((r) => setTimeout(r, 20));
    gc();
    const alive = refs.filter((r) => r.deref() !== undefined).length;
    // At most the last frame may still sit in a local of the send loop.
    expect(alive).toBeLessThanOrEqual(1);
  });
});
