/**
 * Typed send helpers for `process.send` / `worker.send`. IPC sends are asynchronous; a send to a
 * peer that already went away is dropped (the supervisor notices the exit and restarts it).
 */
export interface IpcPeer {
  send?(message: unknown, callback?: (error: Error | null) => void): boolean;
  connected?: boolean;
}

export function sendTo<M extends { type: string }>(peer: IpcPeer, message: M): Promise<void> {
  return new Promise((resolve) => {
    if (!peer.send || peer.connected === false) return resolve();
    try {
      peer.send(message, () => resolve());
    } catch {
      resolve();
    }
  });
}

/** Compile-time exhaustiveness check for `switch (msg.type)`. */
export function assertNever(x: never): never {
  throw new Error(`unexpected message: ${JSON.stringify(x)}`);
}
