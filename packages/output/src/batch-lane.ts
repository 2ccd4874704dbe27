/**
 * The output end of the batch lane (common/src/ipc/lane.ts): a Unix socket server in the
 * supervisor's run directory, the only way batches arrive. Every frame is an EventBatch; its answer
 * goes back on the same connection (an input that died takes its acks with it: its successor pulls
 * those records again, and the delivery ledger drops what is already durable).
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { createLogger, decodeLaneBatch, LaneReader, laneAckFrame, type EventBatch, type LaneAck } from '@devo-collector/common';

export interface BatchLaneServer {
  readonly path: string;
  close(): Promise<void>;
}

export async function startBatchLane(
  runDir: string,
  onBatch: (batch: EventBatch, reply: (m: LaneAck) => void) => void,
): Promise<BatchLaneServer> {
  const log = createLogger('MainThread');
  const sockPath = path.join(runDir, `output-${process.pid}.sock`);
  fs.rmSync(sockPath, { force: true });
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const reader = new LaneReader();
    const reply = (m: LaneAck): void => {
      if (!socket.destroyed) socket.write(laneAckFrame(m));
    };
    socket.on('data', (chunk: Buffer) => {
      try {
        reader.push(chunk, (body) => onBatch(decodeLaneBatch(body), reply));
      } catch (err) {
        // Only our own input connects here; a frame we cannot read means a bug, not data to keep.
        log.error(`Batch lane: unreadable frame (${(err as Error).message}); closing the connection, the input re-sends`);
        socket.destroy();
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(sockPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  fs.chmodSync(sockPath, 0o600);
  return {
    path: sockPath,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.end();
        server.close(() => resolve());
        fs.rmSync(sockPath, { force: true });
      }),
  };
}
