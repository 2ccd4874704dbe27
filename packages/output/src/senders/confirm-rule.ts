/**
 * When a frame counts as sent (confirmed: settled, checkpointed, forgotten). Why its own file: this
 * is the output's durability rule (docs/RELIABILITY.md, "When a frame counts as sent"), and the
 * send loop, the shutdown and the stall watch must not each hold a piece of it.
 *
 * Devo's syslog protocol has no application ack. A write callback only says the bytes reached *our*
 * kernel, and bytes the peer's kernel acknowledged may still sit unread in its receive buffer (a Devo
 * endpoint whose process stopped reading keeps acknowledging up to that buffer, several MB, and
 * loses it all when it is reset). So a frame is confirmed only when
 *  - the drain rule holds: the bytes the peer's kernel acknowledged reach past the frame's end by
 *    more than the peer's receive buffer (config `peer_receive_buffer_in_mb`, default 8 MiB): the
 *    peer's process must then have read the frame, since its kernel cannot hold more than that
 *    buffer unread. Acknowledged bytes = bytes whose write completed (in our kernel) minus our
 *    socket's unacknowledged send queue: the better of two lower bounds, minus the most the queue
 *    can hold (tcp_wmem's maximum, `sendQueueBound`), and minus the measured `tx_queue`
 *    (tcp-queue.ts). For TLS the counts are plaintext bytes against a ciphertext queue: each
 *    record's ciphertext is longer than its plaintext, so the difference only under-counts (a
 *    record straddling the boundary is within the margin);
 *  - or the connection closed cleanly: our end() (FIN after every byte), then the peer's FIN back
 *    (it read everything before ours) with no error seen, on a connection older than PROVE_MS (a
 *    server that rejects our client certificate accepts the TLS 1.3 handshake first).
 * Everything else written on a connection that errors, resets, is closed by the peer or is torn
 * down is released back to the spool and re-sent, in order, on the next connection.
 *
 * The tail: after a burst the last margin can never satisfy the drain rule, so a connection with at
 * least QUIET_CLOSE_MIN_BYTES unconfirmed is closed cleanly once nothing was written for `quietMs`
 * (default 1 s), or once its oldest unconfirmed frame is `confirmWithinMs` old (a steady stream
 * never goes quiet): one TLS handshake per quiet period, and the tail is confirmed within about a
 * round trip. A smaller tail (a few log lines: the internal group would otherwise reconnect for its
 * own connection lines forever) waits for more data or the idle close (`idleReconnectMs`, also clean).
 */
import { readTxQueue, sendQueueBound } from './tcp-queue.js';
import type { StreamConnection, Unconfirmed } from './stream-connection.js';

/**
 * How often the send queue is read while something is unconfirmed: one read of /proc/net/tcp walks
 * the kernel's whole connection table (~4 ms on a large host).
 */
const TX_QUEUE_POLL_MS = 250;
/** A clean close confirms only on a connection at least this old (see the header). */
export const PROVE_MS = 1_000;
/** The least unconfirmed bytes worth a clean close before the idle close. */
const QUIET_CLOSE_MIN_BYTES = 64 * 1024;

/** A trickle must confirm well within the stall bound, or a healthy peer would look stalled. */
export function confirmWithinMs(quietMs: number, stallTimeoutMs: number): number {
  return Math.min(10_000, Math.max(quietMs, Math.floor(stallTimeoutMs / 4)));
}

/**
 * The drain rule: removes and returns the frames the peer's process must have read, and moves the
 * connection's stall clock when either bound of `acked` moved past its own previous value (a first
 * reading of tx_queue only shows what was acknowledged at some time before, not that it moves).
 * tx_queue is read only when it could confirm what the first bound cannot, or when `measure` (before
 * a teardown for a stall). (`done` moving means our kernel took more: the peer took some, or our
 * buffer had room; once it is full, only the peer's acknowledgements let `done` move.)
 */
export function drainConfirmed(c: StreamConnection, now: number, margin: number, measure = false): Unconfirmed[] {
  const bound = c.done - sendQueueBound();
  let moved = c.done > c.doneSeen;
  c.doneSeen = c.done;
  let acked = Math.max(c.acked, bound);
  const first = c.unconfirmed[0];
  const useful = !!first && c.done - margin >= first.end && acked - margin < first.end && now - c.polledAt >= TX_QUEUE_POLL_MS;
  if (useful || measure) {
    c.polledAt = now;
    const unacked = readTxQueue(c.row);
    if (unacked !== null) {
      const measured = c.done - unacked;
      if (c.measuredAcked !== null && measured > c.measuredAcked) moved = true;
      c.measuredAcked = Math.max(c.measuredAcked ?? 0, measured);
      acked = Math.max(acked, measured);
    }
  }
  c.acked = acked;
  if (moved) c.progressAt = now;
  let n = 0;
  while (n < c.unconfirmed.length && (c.unconfirmed[n] as Unconfirmed).end <= acked - margin) n++;
  return c.unconfirmed.splice(0, n);
}

/** The clean close: our FIN, then the peer's, no error, on a connection old enough to prove it. */
export function closedCleanly(c: StreamConnection, now: number): boolean {
  return c.ending && c.peerEnded && !c.error && now - c.openedAt >= PROVE_MS;
}

export interface TailPolicy {
  quietMs: number;
  confirmWithinMs: number;
  idleReconnectMs: number;
  /** Any tail is worth a close (while stalled: its confirmation is what shows the peer is back). */
  anyTail: boolean;
}

/** Why to close `c` cleanly now so that the close confirms its tail, or null. */
export function tailCloseReason(c: StreamConnection, now: number, p: TailPolicy): string | null {
  // Closing already, or too young for a clean close to confirm anything.
  if (c.ending || now - c.openedAt < PROVE_MS) return null;
  if (c.inflight.size === 0 && now - c.lastWriteAt > p.idleReconnectMs) return 'idle connection';
  const first = c.unconfirmed[0];
  if (!first) return null;
  const worth = p.anyTail || c.handed - (first.end - first.bytes) >= QUIET_CLOSE_MIN_BYTES;
  const quiet = c.inflight.size === 0 && now - c.lastWriteAt >= p.quietMs;
  if (!worth || !(quiet || now - first.writtenAt >= p.confirmWithinMs)) return null;
  return quiet ? 'quiet: confirming the tail' : 'confirming the oldest unconfirmed frames';
}
