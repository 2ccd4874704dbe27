import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { openSpool, type Spool, type SpoolFrame } from '../src/spool.js';
import { createStreamSender } from '../src/senders/stream-sender.js';
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

describe('stream sender: when a frame counts as written', () => {
  it('over plain TCP, a frame the kernel took synchronously is marked written before its write callback runs', async () => {
    const received: Buffer[] = [];
    const server = net.createServer((s) => s.on('data', (d: Buffer) => received.push(d)));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'sender-written-'));
    const { spool: inner } = await openSpool({ type: 'filesystem', dir, name: 's', maxBytes: 1 << 20, logger: testLogger('Spool') });
    // Watch the spool: which payload each seq carries, and whether its write callback had run when
    // the sender marked it written.
    const payloadOf = new Map<number, Buffer>();
    const callbackRan = new Set<Buffer>();
    const marks: boolean[] = [];
    const spool: Spool = {
      name: inner.name,
      append: (payload, messages) => inner.append(payload, messages),
      nextReady: () => inner.nextReady(),
      settle: (seq) => inner.settle(seq),
      release: (seq) => inner.release(seq),
      flushCheckpoint: () => inner.flushCheckpoint(),
      stats: () => inner.stats(),
      close: () => inner.close(),
      next: async (signal?: AbortSignal): Promise<SpoolFrame | null> => {
        const f = await inner.next(signal);
        if (f) payloadOf.set(f.seq, f.payload);
        return f;
      },
      markWritten: (seq: number): void => {
        marks.push(callbackRan.has(payloadOf.get(seq) as Buffer));
        inner.markWritten(seq);
      },
    };
    const sender = createStreamSender({
      name: 'DevoSender(standard_senders,devo_sender_0)',
      target: `127.0.0.1:${port}`,
      spool,
      logger: testLogger(),
      connectTimeoutMs: 2_000,
      idleReconnectMs: 60_000,
      maxConnectionAgeMs: 600_000,
      settleMs: 200, // proveMs = 200 ms
      connect: async () => {
        const socket = net.connect({ host: '127.0.0.1', port });
        await new Promise((r) => socket.once('connect', r));
        const write = socket.write.bind(socket) as (chunk: Buffer, cb: (err?: Error | null) => void) => boolean;
        socket.write = ((chunk: Buffer, cb: (err?: Error | null) => void) =>
          write(chunk, (err) => {
            callbackRan.add(chunk);
            cb(err);
          })) as typeof socket.write;
        return socket;
      },
    });
    try {
      for (let i = 0; i < 5; i++) await inner.append(Buffer.from(`<14>x h t: {"n":${i}}\n`), 1);
      sender.start();
      const until = Date.now() + 5_000;
      while (marks.length < 5 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      expect(marks).toEqual([false, false, false, false, false]);
      // The bytes are in the kernel; the server's 'data' event may still be on its way (CI flaked
      // here once on a loaded machine): wait for it, bounded, then assert.
      while (!Buffer.concat(received).toString().includes('{"n":4}') && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      expect(Buffer.concat(received).toString()).toContain('{"n":4}');
    } finally {
      await sender.stop(Date.now() + 1_000);
      await inner.close();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
