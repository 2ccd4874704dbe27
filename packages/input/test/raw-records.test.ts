/** Records go out as the appliance's own compact bytes when the client hands them over. */
import { afterAll, describe, expect, it } from 'vitest';
import { recordTexts } from '@devo-collector/common';
import type { DarktraceApi, RawText } from '../src/client.js';
import { pullRecord } from '../src/pullers/pulled-record.js';
import { serviceProfile } from '../src/pullers/service-profile.js';
import { createTimeSlotPuller } from '../src/pullers/time-slot-puller.js';
import { openStateStore } from '../src/state/state-store.js';
import { makeServiceConfig } from '@devo-collector/testkit';
import { RecordingSink, captureLogs, waitFor } from './helpers.js';

const logs = captureLogs();
const raw = (text: string, compact: boolean): RawText => ({ size: Buffer.byteLength(text), compact, text: () => text });
afterAll(() => logs.dispose());

describe('pullRecord', () => {
  it('uses the projected fields, and reads the whole record when the id is missing or the text is not compact', () => {
    const profile = serviceProfile(makeServiceConfig('aianalyst_incidentevents', { startTimeMs: 0 }));
    const full = { id: 'e1', createdAt: 5, groupScore: 10, currentGroup: 'g', other: [1, 2] };
    const text = JSON.stringify(full);
    const projected = pullRecord(profile, { id: 'e1', createdAt: 5, groupScore: 10, currentGroup: 'g' }, raw(text, true), false);
    expect({ ...projected, text: projected.text(), bytes: projected.bytes().toString() }).toEqual({ key: 'e1', hash: profile.contentHash(full), timeMs: 5, size: text.length, text, bytes: text });
    // No id: keyed by a hash of the whole record, exactly as when the whole record was parsed.
    const noId = { createdAt: 5, groupScore: 1, other: 'x' };
    expect(pullRecord(profile, { createdAt: 5, groupScore: 1 }, raw(JSON.stringify(noId), true), false).key).toBe(profile.key(noId));
    // Not compact: sent re-stringified.
    const spaced = pullRecord(profile, { id: 'e1' }, raw('{ "id" : "e1" }', false), false);
    expect(spaced.text()).toBe('{"id":"e1"}');
    expect(spaced.bytes().toString()).toBe('{"id":"e1"}');
  });
});

describe('raw record texts', () => {
  it('a compact element is sent byte for byte; one with whitespace is re-stringified; dedup sees the parsed fields', async () => {
    const start = Date.now() - 10 * 60_000;
    // `\u00e9` and `1.50` would read `é` and `1.5` after JSON.stringify: proof the bytes are the appliance's.
    const elements = [
      { text: `{"pbid":1,"creationTime":${start + 1},"name":"caf\\u00e9","score":1.50}`, compact: true },
      { text: `{"pbid": 2, "creationTime": ${start + 2}}`, compact: false },
      { text: `{"pbid":1,"creationTime":${start + 1},"name":"dup"}`, compact: true },
    ];
    const api: DarktraceApi = {
      get: () => Promise.reject(new Error('getRecords expected')),
      getRecords: <T>(_e: string, _q: unknown, o: { each: (v: unknown, raw: RawText, complete: boolean) => T }) =>
        Promise.resolve({ records: elements.map((e) => o.each(JSON.parse(e.text), raw(e.text, e.compact), true)) }),
      checkCredentials: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
    const store = await openStateStore({ mode: 'memory', directory: '', inputName: 'd', inputId: '1', service: 'modelbreaches', startTimeText: 'x', version: 1, ownerName: 'P' });
    const sink = new RecordingSink();
    const service = makeServiceConfig('modelbreaches', { startTimeMs: start, requestPeriodMs: 60_000 });
    const puller = createTimeSlotPuller({ inputName: 'd', inputId: '1', service, client: api, store, sink, maxMessagesPerBatch: 10 });
    puller.start();
    await waitFor(() => puller.cursorMs !== null, 5000, 'commit');
    await puller.stop(Date.now() + 200);
    // The compact record goes out as the response's own bytes, the spaced one re-stringified.
    expect(sink.sent.flatMap((b) => recordTexts(b))).toEqual([elements[0]?.text, `{"pbid":2,"creationTime":${start + 2}}`]);
    expect(store.data.last_record_time_ms).toBe(start + 2);
  });
});
