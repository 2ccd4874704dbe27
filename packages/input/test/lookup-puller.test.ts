/**
 * The lookup puller over the real client and simulator: the inventory is committed only once the
 * job's batch is acknowledged (a batch held and never acked leaves the state as it was, so a
 * restart sends the same FULL again); after the ack a restart with the same inventory sends
 * nothing; a failed pull is PullError(301), retried.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { recordTexts, parseLookupJob } from '@devo-collector/common';
import type { Simulator } from '@devo-collector/darktrace-sim';
import { createLookupPuller } from '../src/pullers/lookup-puller.js';
import type { Puller } from '../src/pullers/puller.js';
import { openStateStore, type StateStore } from '../src/state/state-store.js';
import { makeServiceConfig } from '@devo-collector/testkit';
import { RecordingSink, captureLogs, realClient, startSim, tempDir, waitFor } from './helpers.js';

const service = makeServiceConfig('devices', { startTimeMs: 0, requestPeriodMs: 50 });
let sim: Simulator;
const logs = captureLogs();
const open: Array<{ puller: Puller; store: StateStore }> = [];

beforeAll(async () => {
  sim = await startSim({ devices: 30 });
  sim.setNow(Date.now());
});
afterEach(async () => {
  for (const o of open.splice(0)) {
    await o.puller.stop(Date.now() + 1000);
    await o.store.close();
  }
});
afterAll(async () => {
  await sim.close();
  logs.dispose();
});

async function start(stateDir: string, sink: RecordingSink): Promise<{ puller: Puller; store: StateStore }> {
  const store = await openStateStore({
    mode: 'filesystem', directory: stateDir, inputName: 'darktrace', inputId: '1', service: 'devices',
    startTimeText: null, version: 1, ownerName: 'LookupServicePuller(darktrace#1,devices#predefined)',
  });
  const puller = createLookupPuller({
    inputName: 'darktrace', inputId: '1', service, client: realClient(sim), store, sink, maxMessagesPerBatch: 100, retry: { baseMs: 20, capMs: 50 },
  });
  puller.start();
  const o = { puller, store };
  open.push(o);
  return o;
}

async function stopAll(): Promise<void> {
  for (const o of open.splice(0)) {
    await o.puller.stop(Date.now() + 200);
    await o.store.close();
  }
}

describe('lookup puller', () => {
  it('commits the inventory only after the ack; unacked, a restart sends the FULL again; acked, nothing', async () => {
    const dir = await tempDir();
    const held = new RecordingSink(false);
    const a = await start(dir, held);
    await waitFor(() => held.heldCount === 1, 10_000, 'the FULL batch');
    const job = parseLookupJob(recordTexts(held.sent[0]!)[0]!);
    expect(held.sent[0]).toMatchObject({ group: 'lookup', serviceName: 'devices', tag: 'my.lookup.darktrace_devices' });
    expect(job.action).toBe('FULL');
    const inventory = sim.deviceInventory().filter((d) => (d['lastSeen'] as number) >= Date.now() - 7 * 86_400_000);
    expect(job.upserts.map((r) => r[0])).toEqual(inventory.map((d) => String(d['did'])));
    expect(a.store.data.lookup ?? null).toBeNull();
    await stopAll();

    // Never acked: the next start sends a FULL again, and this time it is acked.
    const sink = new RecordingSink(true);
    const b = await start(dir, sink);
    await waitFor(() => b.store.data.lookup != null, 10_000, 'the commit');
    expect(parseLookupJob(recordTexts(sink.sent[0]!)[0]!).action).toBe('FULL');
    expect(Object.keys(b.store.data.lookup!.rows)).toHaveLength(job.upserts.length);
    await waitFor(() => logs.lines.some((l) => /the inventory is unchanged, no lookup sent/.test(l)), 10_000, 'an unchanged pull');
    await stopAll();

    // Acked and committed: a restart with the same inventory sends nothing.
    const after = new RecordingSink(true);
    const before = logs.lines.filter((l) => /the inventory is unchanged/.test(l)).length;
    await start(dir, after);
    await waitFor(() => logs.lines.filter((l) => /the inventory is unchanged/.test(l)).length > before, 10_000, 'an unchanged pull after the restart');
    expect(after.sent).toHaveLength(0);
  });

  it('a failed pull (HTML instead of JSON) is PullError(301), retried, then the FULL goes', async () => {
    const dir = await tempDir();
    sim.injectFault({ endpoint: '/devices', kind: 'html-login-200', count: 4 });
    const sink = new RecordingSink(true);
    await start(dir, sink);
    await waitFor(() => sink.sent.length === 1, 10_000, 'the FULL after the retry');
    expect(logs.lines.some((l) => /LookupServicePuller.*PullError\(301\).*the pull will be retried/.test(l))).toBe(true);
  });
});

describe('lookup puller, an empty answer', () => {
  it('after an inventory was sent, an empty answer deletes nothing (WARNING); devices again: an INC', async () => {
    const dir = await tempDir();
    let answer: unknown[] = [{ did: 1, hostname: 'a' }, { did: 2, hostname: 'b' }];
    const client = { get: async () => answer, checkCredentials: async () => undefined, close: async () => undefined };
    const sink = new RecordingSink(true);
    const store = await openStateStore({
      mode: 'filesystem', directory: dir, inputName: 'darktrace', inputId: '1', service: 'devices',
      startTimeText: null, version: 1, ownerName: 'LookupServicePuller(darktrace#1,devices#predefined)',
    });
    const puller = createLookupPuller({ inputName: 'darktrace', inputId: '1', service, client, store, sink, maxMessagesPerBatch: 100 });
    open.push({ puller, store });
    puller.start();
    await waitFor(() => store.data.lookup != null, 5000, 'the FULL commit');
    answer = [];
    await waitFor(() => logs.lines.some((l) => /The appliance answered no devices \(the last inventory sent had 2\)/.test(l)), 5000, 'the WARNING');
    expect(sink.sent).toHaveLength(1);
    expect(Object.keys(store.data.lookup!.rows)).toEqual(['1', '2']);
    answer = [{ did: 1, hostname: 'a' }];
    await waitFor(() => sink.sent.length === 2, 5000, 'the INC');
    const inc = parseLookupJob(recordTexts(sink.sent[1]!)[0]!);
    expect(inc).toMatchObject({ action: 'INC', upserts: [] });
    expect(inc.deletes.map((r) => r[0])).toEqual(['2']);
  });
});
