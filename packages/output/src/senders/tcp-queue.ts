/**
 * How many bytes of a TCP connection our kernel still holds unacknowledged by the peer: the
 * `tx_queue` column of /proc/net/tcp (IPv4) or /proc/net/tcp6 (IPv6, v4-mapped included), the same
 * figure tcp(7) gives as SIOCOUTQ. A TLS socket's TCP socket has the same addresses, so the row of
 * the connection's (local, remote) address:port pair is the one. Node has no ioctl, and one read of
 * a /proc file costs well under a millisecond on a host with a few hundred sockets; the sender reads
 * it only while something is unconfirmed, every TX_QUEUE_POLL_MS.
 *
 * /proc format: `sl local_address rem_address st tx_queue:rx_queue ...`, addresses as hex of the
 * address in host byte order per 32-bit word (`0100007F` = 127.0.0.1 on little-endian), ports as
 * 4 hex digits.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';

export interface TcpRow {
  file: string;
  /** `<local> <remote> ` as the row spells them. */
  needle: string;
}

const hex4 = (port: number): string => port.toString(16).toUpperCase().padStart(4, '0');

/** One 32-bit word as /proc prints it (host byte order). */
function word(bytes: number[]): string {
  const b = os.endianness() === 'LE' ? [...bytes].reverse() : bytes;
  return b.map((x) => x.toString(16).toUpperCase().padStart(2, '0')).join('');
}

function ipv6Bytes(addr: string): number[] | null {
  // Expand `::`, and an IPv4 tail (`::ffff:127.0.0.1`).
  let a = addr.split('%')[0] as string;
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  if (v4) {
    const p = (v4[1] as string).split('.').map(Number);
    a = a.slice(0, -(v4[1] as string).length) + `${((p[0] as number) * 256 + (p[1] as number)).toString(16)}:${((p[2] as number) * 256 + (p[3] as number)).toString(16)}`;
  }
  const [head, tail] = a.includes('::') ? (a.split('::') as [string, string]) : [a, ''];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = a.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  if (groups.length !== 8) return null;
  const out: number[] = [];
  for (const g of groups) {
    const v = parseInt(g || '0', 16);
    if (!Number.isFinite(v)) return null;
    out.push(v >> 8, v & 0xff);
  }
  return out;
}

function encode(addr: string, port: number, v6: boolean): string | null {
  if (!v6) {
    const p = addr.split('.').map(Number);
    return p.length === 4 ? `${word(p)}:${hex4(port)}` : null;
  }
  const b = ipv6Bytes(net.isIPv4(addr) ? `::ffff:${addr}` : addr);
  if (!b) return null;
  return `${word(b.slice(0, 4))}${word(b.slice(4, 8))}${word(b.slice(8, 12))}${word(b.slice(12, 16))}:${hex4(port)}`;
}

/** The /proc row of a connected socket, or null if its addresses are unknown. */
export function tcpRowOf(socket: net.Socket): TcpRow | null {
  const { localAddress, localPort, remoteAddress, remotePort } = socket;
  if (!localAddress || !localPort || !remoteAddress || !remotePort) return null;
  const v6 = net.isIPv6(localAddress);
  const local = encode(localAddress, localPort, v6);
  const remote = encode(remoteAddress, remotePort, v6);
  if (!local || !remote) return null;
  return { file: v6 ? '/proc/net/tcp6' : '/proc/net/tcp', needle: `${local} ${remote} ` };
}

let sendBound: number | null = null;

/**
 * The most bytes our kernel may hold unacknowledged on one socket: tcp_wmem's maximum (the send
 * buffer's autotuning limit, 4 MiB by default; we never set SO_SNDBUF). Where it cannot be read,
 * 16 MiB: larger is safe (it only confirms later).
 */
export function sendQueueBound(): number {
  if (sendBound === null) {
    let v = NaN;
    try {
      v = Number(readFileSync('/proc/sys/net/ipv4/tcp_wmem', 'utf8').trim().split(/\s+/)[2]);
    } catch {
      // not Linux, or /proc/sys hidden
    }
    sendBound = Number.isFinite(v) && v > 0 ? v : 16 * 1024 * 1024;
  }
  return sendBound;
}

/**
 * The connection's unacknowledged send-queue bytes, or null when it cannot be read (no /proc, the
 * row is gone): the caller then assumes the most the kernel may hold (one formula, a bound).
 */
export function readTxQueue(row: TcpRow | null): number | null {
  if (!row) return null;
  let text: string;
  try {
    text = readFileSync(row.file, 'latin1');
  } catch {
    return null;
  }
  const at = text.indexOf(row.needle);
  if (at < 0) return null;
  // `<st> <tx_queue>:<rx_queue>` follows the needle.
  const m = /^[0-9A-F]{2} ([0-9A-F]{8}):/.exec(text.slice(at + row.needle.length, at + row.needle.length + 20));
  return m ? parseInt(m[1] as string, 16) : null;
}
