/**
 * The input end of the batch lane (common/src/ipc/lane.ts). Looks like an IPC peer to the batch
 * sink: packed batches go on the lane's socket while it is connected, and through `fallback` (the
 * IPC channel to the supervisor) otherwise, so a lane that is down never loses or blocks a batch.
 * Acks read from the lane are handed to `onAck`.
 */
import net from 'node:net';
import { createLogger, decodeLaneAck, LaneReader, laneFrame, type IpcPeer, type LaneAck } from '@devo-collector/common';

export class LanePeer implements IpcPeer {
  private socket: net.Socket | null = null;
  private readonly log = createLogger('MainThread');

  constructor(
    private readonly fallback: IpcPeer,
    private readonly onAck: (m: LaneAck) => void,
  ) {}

  get connected(): boolean {
    return this.fallback.connected !== false;
  }

  get laneOpen(): boolean {
    return !!this.socket && !this.socket.destroyed && !this.socket.connecting;
  }

  /** (Re)connects to the output's lane; resolves false (and batches use the fallback) on failure. */
  connect(path: string | undefined): Promise<boolean> {
    this.socket?.destroy();
    this.socket = null;
    if (!path) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const s = net.createConnection(path);
      const reader = new LaneReader();
      s.once('connect', () => {
        this.socket = s;
        resolve(true);
      });
      s.on('data', (chunk: Buffer) => reader.push(chunk, (body) => this.onAck(decodeLaneAck(body))));
      s.on('error', (err) => {
        this.log.debug(`Batch lane ${path}: ${err.message}`);
        resolve(false);
      });
      s.on('close', () => {
        if (this.socket === s) this.socket = null;
      });
    });
  }

  send(message: unknown, callback?: (error: Error | null) => void): boolean {
    const m = message as { type?: string; packed?: Uint8Array; lines?: Uint8Array };
    const s = this.socket;
    if (m.type === 'packed-batch' && m.packed && s && !s.destroyed) {
      s.cork();
      for (const part of laneFrame({ packed: m.packed, lines: m.lines })) s.write(part);
      s.uncork();
      callback?.(null);
      return true;
    }
    return this.fallback.send ? this.fallback.send(message, callback) : false;
  }

  close(): void {
    this.socket?.destroy();
    this.socket = null;
  }
}
