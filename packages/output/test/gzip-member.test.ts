/**
 * `compression: gzip`: a spool frame is one gzip member as devo-sdk's zip mode writes it (capture
 * 04_zip_gzip_member.bin), the spool holds the members, and a mutual-TLS receiver inflating them
 * reads exactly the lines, once each, in order.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packRecords, recordTexts, textRecords, type EventBatch, type LaneAck, type OutputToSupervisorMessage } from '@devo-collector/common';
import { formatBatch, formatFrames, splitFrameLines } from '../src/format.js';
import { gzipMember } from '../src/gzip-member.js';
import { SPOOL_FRAME_MAX_BYTES } from '../src/intake.js';
import { OutputService } from '../src/output-service.js';
import { spoolDir } from '../src/spool.js';
import { FRAME_HEADER_BYTES, scanFrames } from '../src/spool/frame-codec.js';
import { generateTestCerts, type TestCerts, startTlsReceiver, WireDecoder, compiledConfig, outputConfig } from '@devo-collector/testkit';
import { captureLogs } from './helpers/log-capture.js';
import { fixturesDir, sharedWireCaptures } from './helpers/paths.js';

const fixture = (name: string): Buffer => readFileSync(path.join(fixturesDir, name));
const HOST = 'devo-collector-host';
const AT = Date.UTC(2024, 4, 1, 12, 34, 56, 789);
/** The lines of formatted bytes, without their LF (as the receiver reports them). */
const linesOf = (b: Buffer): string[] => splitFrameLines(b).map((l) => l.replace(/\n$/, ''));

/** Records of the appliance's size (~1-6 KB of JSON, some repetition, unique ids). */
function records(from: number, n: number): string[] {
  return Array.from({ length: n }, (_, k) =>
    JSON.stringify({ pbid: from + k, time: AT + k, model: { name: `Anomalous Connection::Rule ${(from + k) % 37}`, uuid: `${(from + k) * 7919}` }, pad: 'ab'.repeat(500 + ((from + k) % 9) * 300) }),
  );
}

describe('gzip member', () => {
  it('copies of the shared capture are identical', () => {
    for (const n of ['04_zip_gzip_member.bin', '04_zip_gzip_member.decompressed.txt']) {
      if (existsSync(sharedWireCaptures)) expect(fixture(n).equals(readFileSync(path.join(sharedWireCaptures, n)))).toBe(true);
    }
  });

  it('is byte-identical to the SDK zip-mode capture: header 1f 8b 08 00 00000000 00 03, level 6, full syslog lines inside', () => {
    const capture = fixture('04_zip_gzip_member.bin');
    const lines = fixture('04_zip_gzip_member.decompressed.txt');
    // Our formatter produces the lines the SDK put inside (header, tag, LF each).
    const ours = Buffer.concat([
      formatBatch({ tag: 'my.app.test.one', ...textRecords(['alpha']), createdAtMs: AT }, HOST, false),
      formatBatch({ tag: 'my.app.test.one', ...textRecords(['beta']), createdAtMs: AT + 1 }, HOST, false),
    ]);
    expect(ours.equals(lines)).toBe(true);
    const member = gzipMember(ours, 6);
    expect(member.subarray(0, 10).toString('hex')).toBe('1f8b0800000000000003');
    expect(member.equals(capture)).toBe(true);
    expect(gunzipSync(member).equals(lines)).toBe(true);
    // The header's XFL follows the level, as zlib (and so the SDK) writes it.
    expect(gzipMember(ours, 9)[8]).toBe(2);
    expect(gzipMember(ours, 1)[8]).toBe(4);
  });

  it('a frame at the 32 KiB bound: one member per frame, each inflating to exactly its lines; the members concatenated to all of them', () => {
    const recs = records(0, 60);
    const frames = formatFrames({ tag: 'edr.darktrace.respond.model_breach', ...textRecords(recs), createdAtMs: AT }, HOST, false, SPOOL_FRAME_MAX_BYTES);
    expect(frames.length).toBeGreaterThan(3);
    const largest = Math.max(...frames.map((f) => f.payload.length));
    expect(largest).toBeLessThanOrEqual(SPOOL_FRAME_MAX_BYTES);
    expect(largest).toBeGreaterThan(SPOOL_FRAME_MAX_BYTES - 7_000);
    const members = frames.map((f) => gzipMember(f.payload, 6));
    members.forEach((m, i) => {
      expect(gunzipSync(m).equals(frames[i]!.payload)).toBe(true);
      expect(m.length).toBeLessThan(frames[i]!.payload.length);
    });
    const wire = Buffer.concat(members);
    const plain = Buffer.concat(frames.map((f) => f.payload));
    expect(gunzipSync(wire).equals(plain)).toBe(true);
    // The receiver's incremental decoder, with members spanning reads of odd sizes.
    for (const step of [1, 777, 16_384]) {
      const d = new WireDecoder();
      const got: string[] = [];
      for (let i = 0; i < wire.length; i += step) got.push(...d.push(wire.subarray(i, i + step)));
      expect(got).toEqual(linesOf(plain));
      expect(d.members).toBe(frames.length);
      expect(d.pendingBytes()).toBe(0);
      expect(d.error).toBeNull();
    }
  });

  it('the test decoder reads plain lines and members mixed on one stream (as devo-sdk writes them), drops a cut member, flags a corrupt one', () => {
    const a = formatBatch({ tag: 'my.app.test.one', ...textRecords(['one', 'two']), createdAtMs: AT }, HOST, false);
    const b = formatBatch({ tag: 'my.app.test.one', ...textRecords(['three']), createdAtMs: AT }, HOST, false);
    const d = new WireDecoder();
    const member = gzipMember(b, 6);
    expect(d.push(Buffer.concat([a, member, a, member.subarray(0, 20)]))).toEqual([...linesOf(a), ...linesOf(b), ...linesOf(a)]);
    expect(d.members).toBe(1);
    expect(d.plainLines).toBe(4);
    expect(d.pendingBytes()).toBe(20);
    const bad = Buffer.from(member);
    bad[bad.length - 5] = (bad[bad.length - 5] as number) ^ 0xff; // the CRC
    const e = new WireDecoder();
    expect(e.push(bad)).toEqual([]);
    expect(e.error).toMatch(/trailer/);
  });
});

describe('OutputService with compression: gzip (devo_platform, mutual TLS)', () => {
  let certs: TestCerts;
  let logs: ReturnType<typeof captureLogs>;
  beforeAll(() => {
    certs = generateTestCerts();
    logs = captureLogs();
  });
  afterAll(() => logs.stop());

  it('spools and sends gzip members only (every group), which inflate to exactly the lines, once each, in order', async () => {
    const receiver = await startTlsReceiver(certs);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'svc-gzip-'));
    const out = outputConfig({
      port: receiver.port, compression: 'gzip', compressionLevel: 6,
      chainPath: certs.caPath, certPath: certs.clientCertPath, keyPath: certs.clientKeyPath,
    });
    const messages: Array<OutputToSupervisorMessage | LaneAck> = [];
    const svc = new OutputService({ send: (m) => void messages.push(m), metricsPeriodMs: 100, tuning: { quietMs: 100, checkpointIntervalMs: 20, backoff: { baseMs: 50, capMs: 200 } } });
    await svc.handle({ type: 'init', config: compiledConfig(dir, [out], { senderStatsPeriodMs: 300 }), validateOnly: false, runDir: mkdtempSync(path.join(os.tmpdir(), 'svc-gzip-run-')) });
    const batch = (seq: number, big = false): EventBatch => {
      const recs = records(seq * 40, 40);
      if (big) recs[5] = JSON.stringify({ pbid: seq * 40 + 5, pad: 'z'.repeat(SPOOL_FRAME_MAX_BYTES + 3_000) }); // a frame of its own
      return {
        batchId: `mb:${seq}`, group: 'standard', inputName: 'darktrace', serviceName: 'modelbreaches', tag: 'edr.darktrace.respond.model_breach',
        ...textRecords(recs), createdAtMs: AT,
      };
    };
    // Every other batch as the pullers send it: a view of a response, the bounds skipping the commas.
    const asView = (b: EventBatch): EventBatch => {
      const recs = recordTexts(b);
      const body = Buffer.from(`[${recs.join(',')}]`);
      let at = 1;
      return { ...b, ...packRecords(recs.map((r) => body.subarray(at, (at += Buffer.byteLength(r) + 1) - 1))) };
    };
    const batches = [batch(0), batch(1, true), batch(2), batch(3)];
    for (const [i, b] of batches.entries()) svc.acceptBatch(i % 2 ? asView(b) : b, (a) => void messages.push(a));
    const ids = (): number[] =>
      receiver.decoded().lines.filter((l) => l.includes(' edr.darktrace.respond.model_breach: ')).map((l) => (JSON.parse(l.slice(l.indexOf(': {') + 2)) as { pbid: number }).pbid);
    await expect.poll(() => ids().length, { timeout: 20_000, interval: 50 }).toBeGreaterThanOrEqual(160);
    // The internal group (our log records, the metric message) is compressed too.
    await expect.poll(() => receiver.decoded().lines.some((l) => l.includes(' devo.collector.metric.message_sent: ')), { timeout: 10_000 }).toBe(true);
    await svc.handle({ type: 'shutdown', deadlineMs: 3_000 });
    await receiver.stop();
    expect(messages.filter((m) => m.type === 'batch-ack').map((m) => (m as { batchId: string }).batchId)).toEqual(['mb:0', 'mb:1', 'mb:2', 'mb:3']);

    const d = receiver.decoded();
    expect(d.errors).toEqual([]);
    expect(d.plainLines).toBe(0);
    expect(ids()).toEqual(Array.from({ length: 160 }, (_, i) => i));
    // The bytes on the wire are the members the spool holds: inflated, exactly the formatted lines.
    const sdir = spoolDir(dir, 'devo_1', 'standard');
    const segments = readdirSync(sdir).filter((n) => n.startsWith('seg-')).sort().map((n) => readFileSync(path.join(sdir, n)));
    const payloads = segments.flatMap((seg) =>
      [...scanFrames(seg, 0)].map((e) => {
        if (e.kind !== 'frame') throw new Error(`damaged spool segment: ${e.kind}`);
        return seg.subarray(e.offset + FRAME_HEADER_BYTES, e.end);
      }),
    );
    expect(payloads.length).toBeGreaterThan(4);
    for (const p of payloads) expect(p.subarray(0, 10).toString('hex')).toBe('1f8b0800000000000003');
    const expected = Buffer.concat(batches.map((b) => formatBatch(b, 'devo-collector-host', false)));
    expect(gunzipSync(Buffer.concat(payloads)).equals(expected)).toBe(true);
    const sent = (messages.filter((m) => m.type === 'metrics').at(-1) as Extract<OutputToSupervisorMessage, { type: 'metrics' }>).metrics.sent['devo_1.standard'];
    expect(sent?.count).toBe(160);
    // Wire bytes: the members, well under the plain lines.
    expect(sent?.bytes).toBe(payloads.reduce((n, p) => n + p.length, 0));
    expect(sent!.bytes).toBeLessThan(expected.length / 2);
    expect(logs.lines().some((l) => l.includes('DevoSenderManager(standard_senders,manager,devo_1) -> Frames are sent as gzip members (zlib level 6)'))).toBe(true);
  }, 60_000);
});
