/**
 * When a frame counts as sent (confirmed: settled, checkpointed, forgotten). Why its own file: this
 * is the output's durability rule, and the send loop, the shutdown and the stall watch must not each
 * hold a piece of it. The argument in full: packages/output/README.md, "Delivery and the re-send bound".
 *
 * A write callback only says the bytes reached *our* kernel, and bytes the peer's kernel acknowledged
 * may sit unread in its receive buffer (lost if it is reset). So a frame is confirmed only by
 *  - the drain rule: the peer's kernel acknowledged more than its receive buffer (config
 *    `peer_receive_buffer_in_mb`) beyond the frame's end, so its process must have read the frame.
 *    Acknowledged = written into our kernel minus our unacknowledged send queue, bounded by tcp_wmem's
 *    maximum or measured as `tx_queue` (tcp-queue.ts); for TLS, plaintext against ciphertext, which
 *    only under-counts;
 *  - or a clean close: our FIN after every byte, then the peer's, no error, on a connection older than
 *    PROVE_MS (a server that rejects our client certificate accepts the TLS 1.3 handshake first).
 * Anything else on a connection that fails is released to the spool and re-sent, in order.
 * The tail after a burst never meets the drain rule: a tail of QUIET_CLOSE_MIN_BYTES or more is closed
 * for once quiet for `quietMs` or `confirmWithinMs` old; a few log lines wait for the idle close (the
 * internal group would otherwise reconnect for its own connection lines forever).
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

interface TailPolicy {
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
