/** The devices lookup: rows from /devices records, the diff, and the job plan (FULL, INC, nothing). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { lookupIdAt } from '@devo-collector/common';
import { DEVICE_COLUMNS, DEVICE_KEY_INDEX, deviceRow } from '../src/pullers/device-inventory.js';
import { diffInventory, planLookupJob } from '../src/pullers/lookup-plan.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const sample = path.join(here, 'fixtures', 'devicesearch.sample.json');

const row = (did: string, host: string, lastSeen = '1'): string[] => [did, '10.0.0.1', 'aa', host, 'v', 'os', 't', 'T', '0', lastSeen, ''];
const plan = (rows: string[][], previous: ReturnType<typeof planLookupJob>['state'] | null, nowMs = 1_714_566_896_123) =>
  planLookupJob({ name: 'darktrace_devices', columns: DEVICE_COLUMNS, keyIndex: DEVICE_KEY_INDEX, rows, previous, nowMs });

describe('device rows', () => {
  it('fills the columns from a device record (the guide sample), tags as their names', () => {
    const { devices } = JSON.parse(readFileSync(sample, 'utf8')) as { devices: unknown[] };
    expect(DEVICE_COLUMNS.map((c) => c.name)).toEqual(['did', 'ip', 'macaddress', 'hostname', 'vendor', 'os', 'typename', 'typelabel', 'firstSeen', 'lastSeen', 'tags']);
    expect(deviceRow(devices[0])).toEqual(['1', '10.0.0.1', '00:00:00:00:00:00', 'ip-10-0-0-1', '', '', 'server', 'Server', '1591729370000', '1599848550000', 'Internet Facing System;Test']);
  });

  it('absent fields are empty; a record without did is no row', () => {
    expect(deviceRow({ did: -9, typename: 'saas' })).toEqual(['-9', '', '', '', '', '', 'saas', '', '', '', '']);
    expect(deviceRow({ ip: '10.0.0.1' })).toBeNull();
    expect(deviceRow(null)).toBeNull();
  });
});

describe('inventory diff', () => {
  it('changed (any column), new, and gone keys', () => {
    const prev = { '1': row('1', 'a'), '2': row('2', 'b'), '3': row('3', 'c') };
    const next = new Map([
      ['1', row('1', 'a')],
      ['2', row('2', 'b', '2')],
      ['4', row('4', 'd')],
    ]);
    expect(diffInventory(prev, next)).toEqual({ upserts: [row('2', 'b', '2'), row('4', 'd')], deletes: [row('3', 'c')] });
  });
});

describe('lookup plan', () => {
  it('first run: a FULL with every device, the state to commit holds them', () => {
    const p = plan([row('1', 'a'), row('2', 'b')], null);
    expect(p.job).toMatchObject({ name: 'darktrace_devices', action: 'FULL', lookupId: lookupIdAt(1_714_566_896_123), keyIndex: 0, deletes: [] });
    expect(p.job!.lookupId).toBe('1714566896.123000');
    expect(p.job!.upserts).toEqual([row('1', 'a'), row('2', 'b')]);
    expect(Object.keys(p.state.rows)).toEqual(['1', '2']);
  });

  it('then an INC with exactly the changes and the gone devices as DELETE rows', () => {
    const first = plan([row('1', 'a'), row('2', 'b'), row('3', 'c')], null).state;
    const p = plan([row('1', 'a'), row('2', 'B'), row('5', 'e')], first, 1_714_570_000_000);
    expect(p.job).toMatchObject({ action: 'INC', upserts: [row('2', 'B'), row('5', 'e')], deletes: [row('3', 'c')] });
    expect(Object.keys(p.state.rows).sort()).toEqual(['1', '2', '5']);
  });

  it('an unchanged inventory plans no job (nothing resent after a restart)', () => {
    const first = plan([row('1', 'a')], null).state;
    const p = plan([row('1', 'a')], JSON.parse(JSON.stringify(first)));
    expect(p.job).toBeNull();
    expect(p.state.lookup_id).toBe(first.lookup_id);
  });

  it('a changed lookup name or column set sends a FULL again', () => {
    const first = plan([row('1', 'a')], null).state;
    expect(plan([row('1', 'a')], { ...first, name: 'other' }).job?.action).toBe('FULL');
    expect(plan([row('1', 'a')], { ...first, columns: first.columns.slice(1) }).job?.action).toBe('FULL');
  });

  it('a did listed twice is one row (the last)', () => {
    const p = plan([row('1', 'a'), row('1', 'b')], null);
    expect(p.job!.upserts).toEqual([row('1', 'b')]);
  });
});
