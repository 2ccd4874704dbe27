import { describe, expect, it } from 'vitest';
import { buildPathAndQuery, formatDtapiDate, signRequest } from '../src/index.js';

// Synthetic tokens of the reference §1.2 test vectors.
const PUB = '0123456789abcdef0123456789abcdef01234567';
const PRIV = 'fedcba9876543210fedcba9876543210fedcba98';

describe('signRequest (reference §1.2 vectors)', () => {
  it.each([
    ['V0', '/devices', 'test_public_token', 'test_private_token', '2025-01-15 12:30:00', 'e3c82b28eb735735b9d288d6d2d63b14cba2e008'],
    ['V1', '/modelbreaches?endtime=1700003600000&expandenums=true&includeacknowledged=true&starttime=1700000000000', PUB, PRIV, '20231114T231320', '860d915d2c84b86cb1a0d4d2c32a6130847fb6bf'],
    ['V2', '/aianalyst/incidentevents?endtime=1700003600000&includeacknowledged=true&starttime=1700000000000', PUB, PRIV, '2023-11-14 23:13:20', 'dd5375ca64e008d2e30d38ca1c28540ac51a87e0'],
    ['V3', '/modelbreaches/101/comments?{"message":"Test Comment"}', PUB, PRIV, '2024-01-01 00:00:00', 'f6620bb234303d3630a29b99118f3a8ededce29b'],
    ['V3b', '/modelbreaches/101/comments?{"message": "Test Comment"}', PUB, PRIV, '2024-01-01 00:00:00', '647e7fd3fc7ca0f19d46c0fae8a5d9a962b80bdb'],
    ['V4', '/modelbreaches/101/acknowledge?acknowledge=true', PUB, PRIV, '2024-01-01 00:00:00', '8f81b310e6cf556d948c22505e485270d2a5dc21'],
    ['V5', '/status', PUB, PRIV, '2024-01-01 00:00:00', '93b5d054227a928198887539af947f9a8769c837'],
  ])('%s', (_name, pq, pub, priv, date, expected) => {
    expect(signRequest(pq, pub, priv, date)).toBe(expected);
  });

  it('V1 through buildPathAndQuery + formatDtapiDate', () => {
    const pq = buildPathAndQuery('/modelbreaches', { endtime: 1700003600000, expandenums: true, includeacknowledged: true, starttime: 1700000000000 });
    const date = formatDtapiDate(new Date(1700003600000));
    expect(date).toBe('20231114T231320');
    expect(signRequest(pq, PUB, PRIV, date)).toBe('860d915d2c84b86cb1a0d4d2c32a6130847fb6bf');
  });

  // The pitfall table: each encoding of the same query signs differently, which is why
  // buildPathAndQuery refuses values that would need encoding at all.
  it.each([
    ['raw', '/modelbreaches?from=2024-01-01 10:00:00&to=2024-01-01 11:00:00', '6b147df2ec2fd8001885d4150566a1f2246895e7'],
    ['urlencode', '/modelbreaches?from=2024-01-01+10%3A00%3A00&to=2024-01-01+11%3A00%3A00', '1b27dcf575c32249a2632d55e0fd47090760df3b'],
    ['%20', '/modelbreaches?from=2024-01-01%2010%3A00%3A00&to=2024-01-01%2011%3A00%3A00', '4fe9bf0e23b1a3fb5c2bcc2a2581b8439ecd417e'],
  ])('encoding pitfall: %s form', (_name, pq, expected) => {
    expect(signRequest(pq, PUB, PRIV, '2024-01-01 00:00:00')).toBe(expected);
  });

  it('the pitfall query is rejected rather than silently encoded', () => {
    expect(() => buildPathAndQuery('/modelbreaches', { from: '2024-01-01 10:00:00' })).toThrow(TypeError);
  });
});

describe('formatDtapiDate', () => {
  it('is compact UTC with zero padding', () => {
    expect(formatDtapiDate(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 999)))).toBe('20240102T030405');
  });
});

describe('buildPathAndQuery', () => {
  it('keeps insertion order and lowercases booleans', () => {
    expect(buildPathAndQuery('/antigena', { starttime: 5, includecleared: true, includehistory: false })).toBe(
      '/antigena?starttime=5&includecleared=true&includehistory=false',
    );
  });
  it('adds no trailing ? without a query', () => {
    expect(buildPathAndQuery('/status')).toBe('/status');
    expect(buildPathAndQuery('/status', {})).toBe('/status');
  });
  it.each([
    [{ a: 'x y' }],
    [{ a: 'x&y' }],
    [{ a: 'é' }],
    [{ a: '' }],
    [{ 'a b': '1' }],
    [{ a: Number.NaN }],
    [{ a: 1e21 }],
  ])('rejects %j', (q) => {
    expect(() => buildPathAndQuery('/modelbreaches', q as Record<string, string | number>)).toThrow(TypeError);
  });
  it.each(['status', '/a?b=1', '/a b', ''])('rejects endpoint %j', (ep) => {
    expect(() => buildPathAndQuery(ep)).toThrow(TypeError);
  });
});
