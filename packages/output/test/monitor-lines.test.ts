/** The vendor's sender/monitor line shapes, character for character (darktrace-collector-doc.txt). */
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { outputConfig } from '@devo-collector/testkit';
import {
  createdSenderLine,
  enqueuedStatsLine,
  groupTotalsLine,
  internalTotalsLine,
  pyJson,
  vendorIso,
  vendorIsoT,
} from '../src/monitor-lines.js';

const SINCE = Date.UTC(2024, 10, 19, 6, 12, 18, 957);
const TO = Date.UTC(2024, 10, 19, 6, 17, 18, 958);

describe('monitor lines', () => {
  it('pyJson uses Python json.dumps separators, keeps commas and colons inside strings', () => {
    expect(pyJson({ internal_queue_size: 0, is_connection_open: false })).toBe('{"internal_queue_size": 0, "is_connection_open": false}');
    expect(pyJson({ p: 'C:\\certs\\a,b.crt', n: null, a: [1, 'x'], o: {} })).toBe('{"p": "C:\\\\certs\\\\a,b.crt", "n": null, "a": [1, "x"], "o": {}}');
  });

  it('timestamps: str(datetime) for Standard/Lookup, isoformat() for Internal', () => {
    expect(vendorIso(SINCE)).toBe('2024-11-19 06:12:18.957000+00:00');
    expect(vendorIsoT(SINCE)).toBe('2024-11-19T06:12:18.957000+00:00');
  });

  it('Internal - Total number of messages … in its own format (the doc line with its figures)', () => {
    const line = internalTotalsLine({ totalMessages: 114, periodMessages: 28, periodBytes: 13408, sinceMs: SINCE, toMs: TO, elapsedMs: 2 });
    expect(line).toBe(
      'Internal - Total number of messages: 114 messages/bytes sent since/to "2024-11-19T06:12:18.957000+00:00/2024-11-19T06:17:18.958000+00:00": 28/13408, (elapsed 0.002 seconds)',
    );
  });

  it('Standard and Lookup keep the older shape', () => {
    const p = { totalMessages: 0, periodMessages: 0, periodBytes: 0, sinceMs: Date.UTC(2024, 10, 19, 6, 12, 18, 956), toMs: TO, elapsedMs: 0 };
    expect(groupTotalsLine('Lookup', p)).toBe('Lookup - Total number of messages sent: 0, messages sent since "2024-11-19 06:12:18.956000+00:00": 0 (elapsed 0.000 seconds)');
    expect(groupTotalsLine('Standard', { ...p, totalMessages: 44, periodMessages: 21, elapsedMs: 7 })).toBe(
      'Standard - Total number of messages sent: 44, messages sent since "2024-11-19 06:12:18.956000+00:00": 21 (elapsed 0.007 seconds)',
    );
  });

  it('enqueued_elapsed_times_in_seconds_stats: {} (the vendor default, queue_generate_metrics off)', () => {
    expect(enqueuedStatsLine()).toBe('enqueued_elapsed_times_in_seconds_stats: {}');
  });

  it('Created a sender names the chain/cert/key paths, the url and the transport; SSL and TCP', () => {
    const o = outputConfig({
      address: 'collector-eu.devo.io',
      port: 443,
      chainPath: '/home/u/certs/chain.crt',
      certPath: '/home/u/certs/int.crt',
      keyPath: '/home/u/certs/int.key',
    });
    const ssl = createdSenderLine('DevoSender(internal_senders,devo_sender_0)', o, 'SSL', '2023-apac-0046');
    expect(ssl).toMatch(
      /^Created a sender: \{"name": "DevoSender\(internal_senders,devo_sender_0\)", "url": "collector-eu\.devo\.io:443", "chain_path": "\/home\/u\/certs\/chain\.crt", "cert_path": "\/home\/u\/certs\/int\.crt", "key_path": "\/home\/u\/certs\/int\.key", "transport_layer_type": "SSL", "last_usage_timestamp": null, "socket_status": null\}, hostname: "2023-apac-0046", session_id: "(\d+)"$/,
    );
    const tcp = createdSenderLine('SyslogSender(standard_senders,syslog_sender_0)', o, 'TCP');
    expect(tcp).toContain('"url": "collector-eu.devo.io:443", "chain_path": null, "cert_path": null, "key_path": null, "transport_layer_type": "TCP"');
    expect(tcp).toContain(`hostname: ${JSON.stringify(os.hostname())}`);
    // Each created sender gets its own session id.
    const id = (l: string): number => Number(/session_id: "(\d+)"$/.exec(l)?.[1]);
    expect(id(tcp)).toBe(id(ssl) + 1);
  });
});
