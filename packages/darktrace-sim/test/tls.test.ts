/**
 * A self-signed appliance (common in the field): the client verifies the appliance certificate by
 * default, trusts it with the configured CA (`ca_file`), and refuses it without.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SetupError } from '@devo-collector/common';
import { createDarktraceClient } from '@devo-collector/darktrace';
import { startSimulator, type Simulator } from '../src/index.js';

const PUB = 'tls-public-token-0123456789';
const PRIV = 'tls-private-token-9876543210';
let sim: Simulator;
let caPem: string;

beforeAll(async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sim-tls-'));
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2',
    '-subj', '/CN=darktrace-appliance.local', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
  caPem = readFileSync(cert, 'utf8');
  sim = await startSimulator({ publicToken: PUB, privateToken: PRIV, tls: { cert: caPem, key: readFileSync(key, 'utf8') } });
});
afterAll(async () => {
  await sim.close();
});

describe('appliance TLS', () => {
  it('serves https', () => {
    expect(sim.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
  });

  it('trusts a self-signed appliance through the configured CA', async () => {
    const c = createDarktraceClient({ baseUrl: sim.url, publicToken: PUB, privateToken: PRIV, caPem, maxRetries: 0 });
    await expect(c.checkCredentials('/status')).resolves.toBeUndefined();
    const body = await c.get('/status');
    expect(body).toBeTypeOf('object');
    await c.close();
  });

  it('refuses an untrusted appliance certificate with SetupError(100) by default', async () => {
    const c = createDarktraceClient({ baseUrl: sim.url, publicToken: PUB, privateToken: PRIV, maxRetries: 0 });
    const err = await c.checkCredentials('/status').then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(SetupError);
    expect((err as SetupError).code).toBe(100);
    expect(String(err)).toMatch(/certificate/i);
    expect(String(err)).not.toContain(PRIV);
    await c.close();
  });

  it('connects without verification only when tls_verify is off', async () => {
    const c = createDarktraceClient({ baseUrl: sim.url, publicToken: PUB, privateToken: PRIV, tlsVerify: false, maxRetries: 0 });
    await expect(c.checkCredentials('/status')).resolves.toBeUndefined();
    await c.close();
  });
});
