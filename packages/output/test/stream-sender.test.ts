import { existsSync, mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterEach, describe, expect, it } from 'vitest';
import { openSpool } from '../src/spool.js';
import { readTxQueue, tcpRowOf } from '../src/senders/tcp-queue.js';
import { createSocketSender } from '../src/senders/socket-connect.js';
import { testLogger } from './helpers/log-capture.js';
import { outputConfig } from '@devo-collector/testkit';

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
    // A margin and a quiet period far beyond the test: no frame is confirmed, the connection stays open throughout.
    const output = outputConfig({ port: rx.port, peerReceiveBufferBytes: 1 << 30 });
    const sender = createSocketSender({ name: 'DevoSender(standard_senders,devo_sender_0)', output, spool, logger: testLogger(), quietMs: 60_000 }, false);
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

describe('tx_queue from /proc/net/tcp', () => {
  it.skipIf(!existsSync('/proc/net/tcp'))('reads the unacknowledged send queue of a connection whose peer stopped reading', async () => {
    const rx = await stallingReceiver(60_000);
    const socket = net.connect({ host: '127.0.0.1', port: rx.port });
    try {
      await new Promise((r) => socket.once('connect', r));
      const row = tcpRowOf(socket);
      expect(row?.file).toBe('/proc/net/tcp');
      expect(readTxQueue(row)).toBe(0);
      // Far more than both buffers hold: our kernel ends up holding bytes the peer never acknowledged.
      for (let i = 0; i < 64; i++) socket.write(Buffer.alloc(1 << 20, 0x61));
      await expect.poll(() => readTxQueue(row), { timeout: 10_000, interval: 50 }).toBeGreaterThan(0);
      expect(rx.bytes()).toBe(0);
    } finally {
      socket.destroy();
      await rx.stop();
    }
  });

  it('spells IPv4 and IPv6 rows as /proc does (little-endian words, hex ports); an unknown row reads as null', () => {
    const fake = (localAddress: string, remoteAddress: string) => ({ localAddress, localPort: 0x1f90, remoteAddress, remotePort: 443 }) as unknown as net.Socket;
    if (os.endianness() === 'LE') {
      expect(tcpRowOf(fake('127.0.0.1', '10.1.2.3'))).toEqual({ file: '/proc/net/tcp', needle: '0100007F:1F90 0302010A:01BB ' });
      expect(tcpRowOf(fake('::1', '::ffff:127.0.0.1'))).toEqual({
        file: '/proc/net/tcp6',
        needle: '00000000000000000000000001000000:1F90 0000000000000000FFFF00000100007F:01BB ',
      });
    }
    expect(tcpRowOf({} as net.Socket)).toBeNull();
    expect(readTxQueue({ file: '/proc/net/tcp', needle: 'FFFFFFFF:0000 FFFFFFFF:0000 ' })).toBeNull();
    expect(readTxQueue(null)).toBeNull();
  });
});
